"""The ``topup`` command line on a SQLite file: migrate, load the catalogue, switch items."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from topup.accounts.models import Customer
from topup.app import create_app
from topup.catalogue.models import Operator
from topup.catalogue.schemas import CatalogueFile
from topup.cli import SHIPPED_CATALOGUE, app
from topup.config import Environment, Settings, get_settings
from topup.kit.db import create_engine, create_session_factory
from topup.kit.httpserver import BoundedHeadProtocol
from topup.runtime import build_runtime

runner = CliRunner()


@pytest.fixture
def database_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """TOPUP_DATABASE_URL names a new SQLite file; nothing else of the machine leaks in."""
    for name in [name for name in os.environ if name.startswith("TOPUP_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "topup.db"
    monkeypatch.setenv("TOPUP_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def topup(*arguments: str) -> Result:
    return runner.invoke(app, list(arguments))


def operator_enabled(database: Path, operator_id: str) -> bool | None:
    async def read() -> bool | None:
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with engine.connect() as connection:
                query = select(Operator.enabled).where(Operator.id == operator_id)
                enabled: bool | None = await connection.scalar(query)
                return enabled
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def loaded_database(database_file: Path) -> Path:
    assert topup("db", "upgrade").exit_code == 0
    assert topup("catalogue", "load").exit_code == 0
    return database_file


def test_db_upgrade_creates_the_schema(database_file: Path) -> None:
    result = topup("db", "upgrade")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Database at head."
    assert database_file.stat().st_size > 0


def test_catalogue_load_prints_the_counts(
    database_file: Path, shipped_catalogue: CatalogueFile
) -> None:
    topup("db", "upgrade")

    result = topup("catalogue", "load")

    operators = [
        operator for country in shipped_catalogue.countries for operator in country.operators
    ]
    products = sum(len(operator.products) for operator in operators)
    prefixes = sum(len(operator.prefixes) for operator in operators)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Catalogue version 1: {len(shipped_catalogue.countries)} countries, "
        f"{len(operators)} operators, {products} products, {prefixes} prefixes; "
        "0 switched off."
    )
    assert operator_enabled(database_file, "ng-mtn") is True


def test_loading_the_same_file_again_bumps_the_version(loaded_database: Path) -> None:
    result = topup("catalogue", "load", str(SHIPPED_CATALOGUE))

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Catalogue version 2: ")
    assert result.output.strip().endswith("0 switched off.")


def test_a_file_that_is_not_json_is_refused(loaded_database: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "topup-catalogue/1", "countries": [', encoding="utf-8")

    result = topup("catalogue", "load", str(broken))

    assert result.exit_code == 1
    assert f"{broken} is not JSON" in result.output


def test_a_missing_file_is_refused(loaded_database: Path, tmp_path: Path) -> None:
    result = topup("catalogue", "load", str(tmp_path / "absent.json"))

    assert result.exit_code == 1
    assert "Cannot read" in result.output
    assert "No such file or directory" in result.output


def shipped_document() -> dict[str, object]:
    document: dict[str, object] = json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8"))
    return document


def first_product(document: dict[str, object]) -> dict[str, object]:
    countries = document["countries"]
    assert isinstance(countries, list)
    product: dict[str, object] = countries[0]["operators"][0]["products"][0]
    return product


def test_a_price_below_the_pricing_rule_is_refused(loaded_database: Path, tmp_path: Path) -> None:
    document = shipped_document()
    product = first_product(document)
    price_key = "price" if product["kind"] == "fixed" else "price_min"
    price = product[price_key]
    assert isinstance(price, int)
    product[price_key] = price - 1
    undercut = tmp_path / "undercut.json"
    undercut.write_text(json.dumps(document), encoding="utf-8")

    result = topup("catalogue", "load", str(undercut))

    assert result.exit_code == 1
    assert f"{undercut} is not a valid catalogue" in result.output
    assert f"{product['id']}: price {price - 1} does not match the pricing rule ({price})" in (
        result.output
    )


def test_a_file_of_the_wrong_shape_is_refused(loaded_database: Path, tmp_path: Path) -> None:
    document = shipped_document()
    document["format"] = "topup-catalogue/2"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(document), encoding="utf-8")

    result = topup("catalogue", "load", str(wrong))

    assert result.exit_code == 1
    assert f"{wrong} is not a valid catalogue: format:" in result.output


def test_a_refused_file_changes_nothing(loaded_database: Path, tmp_path: Path) -> None:
    document = shipped_document()
    document["countries"] = []
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(document), encoding="utf-8")

    assert topup("catalogue", "load", str(empty)).exit_code == 1
    assert operator_enabled(loaded_database, "ng-mtn") is True


def test_an_operator_is_switched_off_and_on(loaded_database: Path) -> None:
    disabled = topup("catalogue", "disable", "operator", "ng-mtn")

    assert disabled.exit_code == 0, disabled.output
    assert disabled.output.strip() == "Operator ng-mtn switched off (catalogue version 2)."
    assert operator_enabled(loaded_database, "ng-mtn") is False
    assert operator_enabled(loaded_database, "ng-airtel") is True

    enabled = topup("catalogue", "enable", "operator", "ng-mtn")

    assert enabled.exit_code == 0, enabled.output
    assert enabled.output.strip() == "Operator ng-mtn switched on (catalogue version 3)."
    assert operator_enabled(loaded_database, "ng-mtn") is True


def test_disabling_an_unknown_operator_fails(loaded_database: Path) -> None:
    result = topup("catalogue", "disable", "operator", "zz-nobody")

    assert result.exit_code == 1
    assert "no operator 'zz-nobody' in the catalogue" in result.output


def test_an_unknown_kind_of_item_fails(loaded_database: Path) -> None:
    result = topup("catalogue", "disable", "planet", "ng-mtn")

    assert result.exit_code == 1
    assert "unknown catalogue item kind 'planet'" in result.output
    assert operator_enabled(loaded_database, "ng-mtn") is True


# ---- staff accounts and blocking -------------------------------------------------------

ADMIN_EMAIL = "ada.admin@example.com"
ADMIN_PHONE = "+2348031234567"
ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture
def staff_database(database_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite file, cheap argon2 settings and the admin password in the env."""
    monkeypatch.setenv("TOPUP_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("TOPUP_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("TOPUP_ARGON2_PARALLELISM", "1")
    monkeypatch.setenv("TOPUP_ADMIN_PASSWORD", ADMIN_PASSWORD)
    assert topup("db", "upgrade").exit_code == 0
    return database_file


def create_admin(
    *, email: str = ADMIN_EMAIL, phone: str = ADMIN_PHONE, role: str = "admin"
) -> Result:
    return topup(
        "admin",
        "create",
        "--email",
        email,
        "--phone",
        phone,
        "--first-name",
        "Ada",
        "--last-name",
        "Okafor",
        "--role",
        role,
    )


def created_id(result: Result) -> str:
    assert result.exit_code == 0, result.output
    found = re.search(r"^\w+ \S+ created as (cus_[0-9a-f]{32})\.$", result.output, re.MULTILINE)
    assert found, result.output
    return found.group(1)


def stored_customers(database: Path) -> list[Customer]:
    async def read() -> list[Customer]:
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with create_session_factory(engine)() as session:
                return list(await session.scalars(select(Customer)))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def call_api(
    database: Path,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: dict[str, str] | None = None,
) -> httpx.Response:
    """One request to the real app on the CLI's SQLite file (its own runtime and engine)."""
    settings = Settings(
        env=Environment.test,
        database_url=f"sqlite+aiosqlite:///{database}",
        argon2_memory_kib=1024,
        argon2_time_cost=1,
        argon2_parallelism=1,
    )

    async def request() -> httpx.Response:
        runtime = build_runtime(settings)
        app = create_app(settings, runtime)
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    return await http.request(method, path, json=body, headers=headers)
        finally:
            await runtime.close()

    return asyncio.run(request())


def log_in(database: Path, login: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> str:
    response = call_api(
        database, "POST", "/v1/auth/login", body={"login": login, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def me(database: Path, token: str) -> dict[str, Any]:
    response = call_api(database, "GET", "/v1/me", token=token)
    assert response.status_code == 200, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


def test_admin_create_makes_a_verified_admin(staff_database: Path) -> None:
    result = create_admin()

    customer_id = created_id(result)
    assert result.output.strip() == f"Admin {ADMIN_EMAIL} created as {customer_id}."
    [admin] = stored_customers(staff_database)
    assert admin.id == customer_id
    assert (admin.role, admin.status, admin.block_reason) == ("admin", "active", None)
    assert (admin.email, admin.email_key, admin.phone) == (ADMIN_EMAIL, ADMIN_EMAIL, ADMIN_PHONE)
    assert (admin.first_name, admin.last_name) == ("Ada", "Okafor")
    assert admin.phone_verified_at is not None
    assert admin.phone_verified_at == admin.created_at
    assert admin.password_hash is not None
    assert admin.password_hash.startswith("$argon2id$")
    assert "$m=1024,t=1,p=1$" in admin.password_hash  # the costs came from the environment
    assert ADMIN_PASSWORD not in admin.password_hash


def test_the_new_admin_logs_in_through_the_api(staff_database: Path) -> None:
    customer_id = created_id(create_admin())

    token = log_in(staff_database)

    assert me(staff_database, token) == {
        "id": customer_id,
        "first_name": "Ada",
        "last_name": "Okafor",
        "phone": ADMIN_PHONE,
        "email": ADMIN_EMAIL,
        "phone_verified": True,
        "status": "active",
        "block_reason": None,
        "role": "admin",
        "language": "en",
        "date_of_birth": None,
        "residence_country": None,
    }
    assert me(staff_database, log_in(staff_database, login=ADMIN_PHONE))["id"] == customer_id
    wrong = call_api(
        staff_database,
        "POST",
        "/v1/auth/login",
        body={"login": ADMIN_EMAIL, "password": ADMIN_PASSWORD + "!"},
    )
    assert wrong.status_code == 401


def test_a_support_account_is_created_with_its_role(staff_database: Path) -> None:
    result = create_admin(role="support")

    customer_id = created_id(result)
    assert result.output.startswith("Support ")
    [support] = stored_customers(staff_database)
    assert (support.id, support.role) == (customer_id, "support")


def test_the_password_is_asked_for_when_not_in_the_environment(
    staff_database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOPUP_ADMIN_PASSWORD")
    arguments = ["admin", "create", "--email", ADMIN_EMAIL, "--phone", ADMIN_PHONE]
    arguments += ["--first-name", "Ada", "--last-name", "Okafor"]

    result = runner.invoke(app, arguments, input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")

    created_id(result)
    assert result.output.startswith("Password")
    assert "Repeat for confirmation: " in result.output
    assert ADMIN_PASSWORD not in result.output  # hidden input
    assert me(staff_database, log_in(staff_database))["role"] == "admin"


def test_the_password_prompt_offers_no_default(
    staff_database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOPUP_ADMIN_PASSWORD")
    arguments = ["admin", "create", "--email", ADMIN_EMAIL, "--phone", ADMIN_PHONE]
    arguments += ["--first-name", "Ada", "--last-name", "Okafor"]

    result = runner.invoke(app, arguments, input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Password: \n")


@pytest.mark.parametrize(
    ("email", "phone", "taken"),
    [
        (ADMIN_EMAIL, "+2348031234568", ADMIN_EMAIL),
        ("ADA.ADMIN@example.com", "+2348031234568", "ADA.ADMIN@example.com"),
        ("someone.else@example.com", ADMIN_PHONE, ADMIN_PHONE),
    ],
)
def test_an_email_or_phone_with_an_account_is_refused(
    staff_database: Path, email: str, phone: str, taken: str
) -> None:
    first = created_id(create_admin())

    result = create_admin(email=email, phone=phone)

    assert result.exit_code == 1
    assert f"{taken} already has an account." in result.output
    assert [customer.id for customer in stored_customers(staff_database)] == [first]


def test_a_short_password_is_refused(staff_database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPUP_ADMIN_PASSWORD", "too-short")

    result = create_admin()

    assert result.exit_code == 1
    assert "Use at least 10 characters for the password." in result.output
    assert stored_customers(staff_database) == []


def test_an_admin_without_a_mobile_phone_is_refused(staff_database: Path) -> None:
    result = create_admin(phone="+33 1 42 68 53 00")  # a Paris landline

    assert result.exit_code == 1
    assert "Use a mobile number" in result.output
    assert stored_customers(staff_database) == []


def test_block_and_unblock_show_in_the_account(staff_database: Path) -> None:
    customer_id = created_id(create_admin())
    token = log_in(staff_database)

    blocked = topup("admin", "block", customer_id, "--reason", "chargebacks")

    assert blocked.exit_code == 0, blocked.output
    assert blocked.output.strip() == f"{customer_id} blocked: chargebacks"
    account = me(staff_database, token)  # a blocked account can still log in and look
    assert (account["status"], account["block_reason"]) == ("blocked", "chargebacks")
    assert me(staff_database, log_in(staff_database))["status"] == "blocked"

    unblocked = topup("admin", "unblock", customer_id)

    assert unblocked.exit_code == 0, unblocked.output
    assert unblocked.output.strip() == f"{customer_id} unblocked."
    account = me(staff_database, token)
    assert (account["status"], account["block_reason"]) == ("active", None)


@pytest.mark.parametrize("command", [["block", "--reason", "chargebacks"], ["unblock"]])
def test_an_unknown_account_cannot_be_blocked_or_unblocked(
    staff_database: Path, command: list[str]
) -> None:
    result = topup("admin", command[0], "cus_nobody", *command[1:])

    assert result.exit_code == 1
    assert "No account cus_nobody." in result.output


def test_a_block_needs_a_reason(staff_database: Path) -> None:
    customer_id = created_id(create_admin())

    blank = topup("admin", "block", customer_id, "--reason", "   ")
    missing = topup("admin", "block", customer_id)

    assert blank.exit_code == 1
    assert "Give the reason for the block." in blank.output
    assert missing.exit_code == 2  # typer: a required option is missing
    [customer] = stored_customers(staff_database)
    assert (customer.status, customer.block_reason) == ("active", None)


def test_a_reason_longer_than_its_column_is_refused(staff_database: Path) -> None:
    customer_id = created_id(create_admin())

    result = topup("admin", "block", customer_id, "--reason", "r" * 201)

    assert result.exit_code == 1
    assert "200" in result.output
    [customer] = stored_customers(staff_database)
    assert (customer.status, customer.block_reason) == ("active", None)


def run_sql(database: Path, *statements: str) -> None:
    async def run() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with engine.begin() as connection:
                for statement in statements:
                    await connection.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_ledger_check_passes_on_a_clean_ledger_and_fails_on_a_breach(database_file: Path) -> None:
    assert topup("db", "upgrade").exit_code == 0
    clean = topup("ledger", "check")
    assert clean.exit_code == 0, clean.output
    assert "Ledger check passed" in clean.output

    # An entry that moved no money, and a balance that no transfer explains.
    run_sql(
        database_file,
        "INSERT INTO journal_entries (id, kind, reference, idempotency_key, created_at)"
        " VALUES ('je_empty', 'test', 'x', 'k', '2026-01-01 00:00:00')",
        "INSERT INTO ledger_accounts (id, code, currency, debits_must_not_exceed_credits,"
        " credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending,"
        " credits_pending, created_at) VALUES ('sales:eur', 'sales', 'EUR', 0, 0, 0, 5, 0, 0,"
        " '2026-01-01 00:00:00')",
    )
    broken = topup("ledger", "check")
    assert broken.exit_code == 1
    assert "entry_moves_money: je_empty" in broken.output
    assert "balance_equals_transfers: sales:eur: credits_posted is 5, transfers say 0" in (
        broken.output
    )


def test_messages_status_and_retry_bring_dead_messages_back(database_file: Path) -> None:
    assert topup("db", "upgrade").exit_code == 0
    assert topup("messages", "status").output.strip() == "The outbox is empty."
    run_sql(
        database_file,
        *[
            "INSERT INTO outbound_messages (id, channel, recipient, body, kind, status, attempts,"
            f" language, due_at, created_at) VALUES ('{message_id}', 'sms', {recipient},"
            f" {body}, 'test', '{status}', 10, 'en', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00')"
            for message_id, recipient, body, status in [
                ("msg_dead_1", "'+2348031234567'", "'hello'", "dead"),
                ("msg_dead_2", "'+2348031234568'", "'hello'", "dead"),
                ("msg_erased", "NULL", "NULL", "dead"),
                ("msg_sent", "'+2348031234569'", "'hello'", "sent"),
            ]
        ],
    )

    status = topup("messages", "status")
    assert status.exit_code == 0, status.output
    assert re.search(r"sms\s+dead\s+3\s+oldest 2026-01-01T00:00:00", status.output)
    assert re.search(r"sms\s+sent\s+1", status.output)

    one = topup("messages", "retry", "msg_dead_1", "msg_sent")
    assert one.output.strip() == "1 message(s) queued again."
    rest = topup("messages", "retry")
    assert rest.output.strip() == "1 message(s) queued again."  # the erased one stays dead
    after = topup("messages", "status").output
    assert re.search(r"sms\s+dead\s+1\s", after)
    assert re.search(r"sms\s+pending\s+2\s", after)


def test_the_worker_logs_at_the_level_and_with_the_redaction_of_the_settings(
    database_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker started on its own once logged at structlog's defaults: every INFO line,
    # and without the processor that blanks secrets.
    monkeypatch.setenv("TOPUP_LOG_LEVEL", "WARNING")
    configured: list[tuple[str, bool]] = []
    ran: list[str] = []

    def configure(level: str, *, json: bool) -> None:
        configured.append((level, json))

    async def one_round(runtime: Any) -> None:
        ran.append(runtime.settings.log_level)

    monkeypatch.setattr("topup.kit.logging.configure_logging", configure)
    monkeypatch.setattr("topup.worker.run_forever", one_round)

    result = topup("worker")

    assert result.exit_code == 0, result.output
    assert configured == [("WARNING", True)]
    assert ran == ["WARNING"]


def test_serve_gives_api_processes_time_to_start_on_a_busy_machine(
    database_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's supervisor kills an API process that does not answer its ping in time; at
    its default of 5 s, a busy 2-core machine saw every new process killed while it was
    still importing Topup, and `topup serve --workers 2` never became ready (make soak)."""
    started: dict[str, Any] = {}
    monkeypatch.setattr("topup.cli.uvicorn.run", lambda *_, **options: started.update(options))
    assert topup("serve", "--workers", "2").exit_code == 0
    assert started["workers"] == 2
    assert started["timeout_worker_healthcheck"] >= 30


def test_serve_bounds_the_request_head_by_the_setting_in_every_worker_process(
    database_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn pickles the protocol into each process under --workers: the setting must
    survive the trip (get_settings is cached: the CLI runner shares this process)."""
    monkeypatch.setenv("TOPUP_HEAD_TIMEOUT_SECONDS", "3.5")
    get_settings.cache_clear()
    started: dict[str, Any] = {}
    monkeypatch.setattr("topup.cli.uvicorn.run", lambda *_, **options: started.update(options))
    assert topup("serve", "--workers", "2").exit_code == 0

    protocol = pickle.loads(pickle.dumps(started["http"]))

    assert protocol.func is BoundedHeadProtocol
    assert protocol.keywords == {"head_timeout_seconds": 3.5}


def test_catalogue_sync_promotions_fetches_the_suppliers_now(loaded_database: Path) -> None:
    first = topup("catalogue", "sync-promotions")
    again = topup("catalogue", "sync-promotions")

    assert first.exit_code == 0, first.output
    # The simulator's sandbox promotion: one first operator in each of four countries.
    # (the last line: the sync's own log line may come before it)
    summary = first.output.strip().splitlines()[-1]
    assert summary == "Promotions from simulator: 4 new, 0 changed, 0 withdrawn."
    assert again.output.strip().splitlines()[-1] == (
        "Promotions from simulator: 0 new, 0 changed, 0 withdrawn."
    )
