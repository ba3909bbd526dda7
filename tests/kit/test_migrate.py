"""Migrations on a fresh database of each backend: up to head, down to base, up again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.catalogues import small_catalogue
from tests.fixtures.databases import BACKENDS, fresh_database
from topup.accounts.models import Customer
from topup.catalogue.models import Country
from topup.catalogue.service import load_catalogue, parse_catalogue
from topup.kit.db import create_engine, create_session_factory, unit_of_work
from topup.kit.ids import new_id
from topup.kit.migrate import alembic_config, is_up_to_date, migrations_directory, upgrade
from topup.models import metadata

CATALOGUE_TABLES = {"countries", "operators", "operator_prefixes", "products", "catalogue_state"}
ACCOUNT_TABLES = {
    "customers",
    "phone_verifications",
    "access_tokens",
    "password_resets",
    "outbound_messages",
}
LEDGER_TABLES = {"ledger_accounts", "journal_entries", "transfers"}
PAYMENT_TABLES = {"saved_cards"}
SIMULATOR_TABLES = {
    "simulator_topups",
    "simulator_closed_cards",
    "simulator_ended_plans",
    "sandbox_payments",
    "sandbox_refunds",
}
IDEMPOTENCY_TABLES = {"idempotency_keys", "orders", "sandbox_clock"}
RISK_TABLES = {
    "limit_rules",
    "market_rules",
    "fraud_signal_rules",
    "risk_thresholds",
    "card_blocks",
    "risk_decisions",
    "risk_locks",
}
WALLET_AND_REFUND_TABLES = {"wallet_fundings", "refund_policies", "refund_requests"}
SCHEDULE_TABLES = {"schedules", "schedule_runs"}
OPERATOR_PROMOTION_TABLES = {"operator_promotions", "promotion_syncs"}
PIN_TABLES = {"order_pins"}
SUBSCRIPTION_TABLES = {"subscriptions", "subscription_charges"}
PROMO_CODE_TABLES = {"promo_codes", "promo_customer_uses", "promo_redemptions"}
CUSTOMERS = metadata.tables["customers"]


@pytest.fixture(params=BACKENDS)
async def fresh_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    databases = fresh_database(request.param, tmp_path)
    engine = create_engine(await anext(databases))
    try:
        yield engine
    finally:
        await engine.dispose()
        await anext(databases, None)  # runs the generator on to its clean-up


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(table_names)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))


def test_the_migrations_directory_is_found() -> None:
    directory = migrations_directory()

    assert (directory / "env.py").is_file()
    assert any((directory / "versions").glob("0001_*.py"))


async def test_an_empty_database_is_not_up_to_date(fresh_engine: AsyncEngine) -> None:
    assert await tables(fresh_engine) == set()
    assert not await is_up_to_date(fresh_engine)


async def test_upgrade_down_to_base_and_up_again(fresh_engine: AsyncEngine) -> None:
    await upgrade(fresh_engine)
    assert await is_up_to_date(fresh_engine)
    assert await tables(fresh_engine) >= CATALOGUE_TABLES

    await downgrade(fresh_engine, "base")
    assert await tables(fresh_engine) - {"alembic_version"} == set()
    assert not await is_up_to_date(fresh_engine)

    await upgrade(fresh_engine)
    assert await is_up_to_date(fresh_engine)
    assert await tables(fresh_engine) >= CATALOGUE_TABLES


async def test_upgrading_twice_changes_nothing(fresh_engine: AsyncEngine) -> None:
    await upgrade(fresh_engine)
    before = await tables(fresh_engine)

    await upgrade(fresh_engine)

    assert await tables(fresh_engine) == before
    assert await is_up_to_date(fresh_engine)


# ---- 0002: accounts and the outbox ------------------------------------------------------


async def current_revision(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: set(MigrationContext.configure(sync).get_current_heads())
        )


async def count_rows(engine: AsyncEngine, model: Any) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(model)) or 0)


async def test_each_revision_adds_its_tables(fresh_engine: AsyncEngine) -> None:
    await upgrade(fresh_engine, "0001")
    assert await tables(fresh_engine) - {"alembic_version"} == CATALOGUE_TABLES

    await upgrade(fresh_engine, "0002")
    assert await current_revision(fresh_engine) == {"0002"}
    assert await tables(fresh_engine) == CATALOGUE_TABLES | ACCOUNT_TABLES | {"alembic_version"}

    await upgrade(fresh_engine, "0003")
    assert await tables(fresh_engine) == (
        CATALOGUE_TABLES | ACCOUNT_TABLES | LEDGER_TABLES | {"alembic_version"}
    )

    await upgrade(fresh_engine)
    assert await current_revision(fresh_engine) == {"0021"}
    assert await tables(fresh_engine) == (
        CATALOGUE_TABLES
        | ACCOUNT_TABLES
        | LEDGER_TABLES
        | PAYMENT_TABLES
        | SIMULATOR_TABLES
        | IDEMPOTENCY_TABLES
        | RISK_TABLES
        | WALLET_AND_REFUND_TABLES
        | SCHEDULE_TABLES
        | OPERATOR_PROMOTION_TABLES
        | PIN_TABLES
        | SUBSCRIPTION_TABLES
        | PROMO_CODE_TABLES
        | {"alembic_version"}
    )


async def test_messages_queued_before_delivery_existed_are_closed_not_sent(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade(fresh_engine, "0009")
    async with fresh_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO outbound_messages (id, channel, recipient, body, kind, status,"
                " attempts, due_at, created_at) VALUES ('msg_old', 'sms', '+2348031234567',"
                " 'Your Topup code is 123456.', 'phone_verification', 'pending', 0,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )

    await upgrade(fresh_engine)

    async with fresh_engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT status, last_error, language FROM outbound_messages")
            )
        ).one()
    assert tuple(row) == ("dead", "queued before delivery existed", "en")


MOMENT = "'2026-01-01 00:00:00'"


async def execute_with_a_customer(engine: AsyncEngine, *statements: str) -> None:
    """Customer cus_1, then the statements, straight to the database in one transaction."""
    async with engine.begin() as connection:
        for statement in (
            "INSERT INTO customers (id, status, role, language, created_at)"
            f" VALUES ('cus_1', 'active', 'customer', 'en', {MOMENT})",
            *statements,
        ):
            await connection.execute(text(statement))


async def test_orders_paid_with_a_saved_card_learn_its_fingerprint(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade(fresh_engine, "0010")
    await execute_with_a_customer(
        fresh_engine,
        "INSERT INTO saved_cards (id, customer_id, gateway_token, brand, last4, exp_month,"
        f" exp_year, fingerprint, created_at) VALUES ('card_1', 'cus_1', 'tok', 'visa',"
        f" '4242', 12, 2030, 'fp_1', {MOMENT})",
        *(
            "INSERT INTO orders (id, customer_id, status, country_iso2, operator_id,"
            " operator_name, product_id, local_amount, local_currency, price_amount,"
            " cost_amount, fee_amount, vat_amount, payment_method, card_id, payment_status,"
            f" attempts, due_at, expires_at, created_at, updated_at) VALUES ('{order_id}',"
            " 'cus_1', 'succeeded', 'NG', 'ng-mtn', 'MTN', 'ng-mtn-2500', 250000, 'NGN',"
            f" 199, 150, 20, 29, 'card', {card_id}, 'captured', 0, {MOMENT}, {MOMENT},"
            f" {MOMENT}, {MOMENT})"
            for order_id, card_id in (("ord_saved", "'card_1'"), ("ord_once", "NULL"))
        ),
    )

    await upgrade(fresh_engine)

    async with fresh_engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT id, card_fingerprint, risk_outcome, risk_score FROM orders ORDER BY id"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("ord_once", None, "allow", 0),
        ("ord_saved", "fp_1", "allow", 0),
    ]


def idempotency_key_columns(connection: Connection) -> set[str]:
    return {str(column["name"]) for column in inspect(connection).get_columns("idempotency_keys")}


async def test_keys_stored_before_fencing_carry_a_token_no_claim_matches(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade(fresh_engine, "0012")
    await execute_with_a_customer(
        fresh_engine,
        "INSERT INTO idempotency_keys (customer_id, key, scope, fingerprint, state,"
        " locked_until, created_at, expires_at) VALUES ('cus_1', 'key-1', 'POST /v1/orders',"
        f" 'fp', 'in_flight', {MOMENT}, {MOMENT}, {MOMENT})",
    )

    await upgrade(fresh_engine)

    async with fresh_engine.connect() as connection:
        tokens = (await connection.scalars(text("SELECT claim_token FROM idempotency_keys"))).all()
    assert tokens == [""]

    await downgrade(fresh_engine, "0012")

    async with fresh_engine.connect() as connection:
        assert "claim_token" not in await connection.run_sync(idempotency_key_columns)
        assert await connection.scalar(text("SELECT key FROM idempotency_keys")) == "key-1"


async def test_downgrade_to_0001_drops_exactly_the_later_tables(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade(fresh_engine)
    async with unit_of_work(create_session_factory(fresh_engine)) as session:
        await load_catalogue(session, parse_catalogue(small_catalogue()))
    countries = await count_rows(fresh_engine, Country)
    assert countries > 0
    at_head = await tables(fresh_engine)

    await downgrade(fresh_engine, "0001")

    assert await current_revision(fresh_engine) == {"0001"}
    assert at_head - await tables(fresh_engine) == (
        ACCOUNT_TABLES
        | LEDGER_TABLES
        | PAYMENT_TABLES
        | SIMULATOR_TABLES
        | IDEMPOTENCY_TABLES
        | RISK_TABLES
        | WALLET_AND_REFUND_TABLES
        | SCHEDULE_TABLES
        | OPERATOR_PROMOTION_TABLES
        | PIN_TABLES
        | SUBSCRIPTION_TABLES
        | PROMO_CODE_TABLES
    )
    assert await tables(fresh_engine) == CATALOGUE_TABLES | {"alembic_version"}
    assert await count_rows(fresh_engine, Country) == countries  # the catalogue is kept
    assert not await is_up_to_date(fresh_engine)

    await upgrade(fresh_engine)

    assert await is_up_to_date(fresh_engine)
    assert await tables(fresh_engine) == at_head
    assert await count_rows(fresh_engine, Customer) == 0
    assert await count_rows(fresh_engine, Country) == countries


def schema_drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_the_migrations_build_what_the_models_describe(fresh_engine: AsyncEngine) -> None:
    await upgrade(fresh_engine)

    async with fresh_engine.connect() as connection:
        drift = await connection.run_sync(schema_drift)

    assert drift == []


def unique_constraints(connection: Connection) -> dict[str, list[str]]:
    found = inspect(connection).get_unique_constraints("customers")
    return {str(constraint["name"]): list(constraint["column_names"]) for constraint in found}


def customer(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": new_id("cus"),
        "status": "active",
        "role": "customer",
        "language": "en",
        "created_at": datetime.now(UTC),
        "email": None,
        "email_key": None,
        "phone": None,
    }
    return row | values


async def insert_customers(engine: AsyncEngine, *rows: dict[str, Any]) -> None:
    """Insert every row in one transaction, straight to the database (no ORM checks)."""
    async with engine.begin() as connection:
        for row in rows:
            await connection.execute(insert(CUSTOMERS).values(**row))


@pytest.fixture
async def at_head(fresh_engine: AsyncEngine) -> AsyncEngine:
    await upgrade(fresh_engine)
    return fresh_engine


async def test_customers_have_their_unique_constraints(at_head: AsyncEngine) -> None:
    async with at_head.connect() as connection:
        constraints = await connection.run_sync(unique_constraints)

    assert constraints == {
        "uq_customers_email_key": ["email_key"],
        "uq_customers_phone": ["phone"],
    }


async def test_two_accounts_cannot_hold_one_phone(at_head: AsyncEngine) -> None:
    await insert_customers(at_head, customer(phone="+2348031234567", email_key="a@example.com"))

    with pytest.raises(IntegrityError):
        await insert_customers(at_head, customer(phone="+2348031234567", email_key="b@example.com"))

    assert await count_rows(at_head, Customer) == 1


async def test_two_accounts_cannot_hold_one_email_key(at_head: AsyncEngine) -> None:
    first = customer(email="Ada@example.com", email_key="ada@example.com", phone="+33612345678")
    second = customer(email="ada@example.com", email_key="ada@example.com", phone="+33612345679")

    with pytest.raises(IntegrityError):
        await insert_customers(at_head, first, second)

    assert await count_rows(at_head, Customer) == 0  # the whole transaction rolled back


async def test_erased_accounts_may_all_have_no_phone_and_no_email(at_head: AsyncEngine) -> None:
    erased = {"status": "deleted", "first_name": None, "password_hash": None}

    await insert_customers(at_head, customer(**erased), customer(**erased))
    await insert_customers(at_head, customer(**erased))

    assert await count_rows(at_head, Customer) == 3
    async with at_head.connect() as connection:
        phones = await connection.scalars(select(CUSTOMERS.c.phone))
        assert list(phones) == [None, None, None]
