"""The "scale" part of ``make bench``: do the customer's reads stay flat as the tables grow?

On a throw-away PostgreSQL database it generates ``orders`` succeeded top-ups for
``customers`` customers, in SQL on the server, each with the ledger rows a real order leaves
(``topup/orders/ledger_entries.py``): a hold from card clearing (from the customer's wallet
for one order in ten), its posting, and the price split into sales, service fees, VAT and
the supplier cost owed. Every customer's wallet is funded by card, at most 100 EUR at a
time, with enough to pay their wallet orders and some left over. Each statement adds what
it moved to the account rows, so ``topup ledger check`` passes. One order in a hundred is
the heavy customer's, so a deep page of their history is really deep.

Then it times the reads through the app's own repository functions, each in its own
session as a request has it, and keeps one ``EXPLAIN (ANALYZE, BUFFERS)`` plan of each.

Usage: ``python -m scripts.bench.scale --orders 10000 --customers 1000 [--reads 1000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import phonenumbers
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from scripts.bench.database import fresh_database
from topup.catalogue.service import load_catalogue, parse_catalogue
from topup.catalogue.snapshot import read_snapshot
from topup.cli import SHIPPED_CATALOGUE
from topup.config import PaymentGatewayName, SupplierName
from topup.kit import clock
from topup.kit.db import create_engine, create_session_factory, unit_of_work
from topup.kit.migrate import upgrade
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.ledger.checks import check_ledger
from topup.ledger.repository import LedgerRepository
from topup.orders import ledger_entries as book
from topup.orders.pricing import split_price
from topup.orders.repository import OrderRepository
from topup.orders.service import PENDING_LIMIT
from topup.wallet.accounting import balance_of, wallet_account_id
from topup.wallet.repository import WalletRepository

SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PAGE = 20  # GET /v1/orders' default limit; it asks the repository for one row more
CHUNK = 50_000  # orders per statement: with their entries and transfers ~500k rows
HISTORY = timedelta(days=730)
STEP = 10_000  # EUR cents a customer adds to the wallet at a time, at most
BIG_TABLES = "ARRAY['orders', 'journal_entries', 'transfers']::regclass[]"
CLEARING = f"card_clearing:{PaymentGatewayName.sandbox.value}:EUR"
PAYABLE = f"supplier_payable:{SupplierName.simulator.value}:EUR"
# What an order's steps open; each account's code is its id up to the first colon.
BOOKS = (book.IN_FLIGHT, book.SALES, book.FEES, book.VAT, book.COST_OF_SALES)
SYSTEM_ACCOUNTS = (CLEARING, PAYABLE, *BOOKS)
BUDGET = 60.0  # seconds of timing per kind of read at most, once 50 reads are in
WALLET_HEAD, WALLET_TAIL = wallet_account_id("\0").split("\0")
MOBILE = phonenumbers.PhoneNumberType.MOBILE
T = TypeVar("T")
Read = Callable[[AsyncSession, T], Awaitable[object]]


def say(began: float, message: str) -> None:
    print(f"[{time.perf_counter() - began:8.1f} s] {message}", file=sys.stderr, flush=True)


def q(value: str) -> str:
    """A constant of this file as an SQL literal (its colons are not bind parameters)."""
    return "'" + value.replace("'", "''").replace(":", "\\:") + "'"


def rand(value: str, salt: int, modulus: str | int) -> str:
    """A repeatable pseudo-random integer in [0, modulus) for ``value``, in SQL."""
    return f"((hashint8extended({value}, {salt}) & 9223372036854775807) % ({modulus}))"


def uid(prefix: str) -> str:
    """An id as ``new_id`` makes one: the prefix, "_", the hex of a version 4 UUID."""
    return f"{q(prefix + '_')} || replace(gen_random_uuid()::text, '-', '')"


def hexes(count: int) -> str:
    return f"substr(replace(gen_random_uuid()::text, '-', ''), 1, {count})"


def wallet(customer_id: str) -> str:
    return f"{q(WALLET_HEAD)} || {customer_id} || {q(WALLET_TAIL)}"


def ms(count: str | int) -> str:
    return f"(({count}) * interval '1 millisecond')"


def source(customers: int, products: int) -> str:
    """Order ``g.n``'s customer ``w.c`` (every hundredth order is the heavy customer's,
    number 0), product ``p`` (mostly the customer's usual one or a neighbour, so the same
    operator) and whether it was paid from the wallet."""
    customer = f"CASE WHEN g.n % 100 = 0 THEN 0 ELSE 1 + {rand('g.n', 1, customers - 1)} END"
    product = f"({rand('w.c', 2, products)} + {rand('g.n', 7, 3)}) % {products}"
    return f"""generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint) - 1) AS g(n)
        CROSS JOIN LATERAL (SELECT {customer} AS c, {rand("g.n", 3, 10)} = 0 AS by_wallet) AS w
        JOIN bench_products AS p ON p.k = {product}"""


async def prepare(connection: AsyncConnection, customers: int, start: datetime) -> int:
    """Temporary tables of the customers and of the products sold, each with a number
    prefix of its operator and how many digits follow; returns how many products."""
    async with AsyncSession(bind=connection) as session:
        snapshot = await read_snapshot(session)
    prefixes: dict[str, str] = {}
    for digits, operator_id in sorted(snapshot.prefixes.items()):
        prefixes.setdefault(operator_id, digits)
    rows: list[tuple[object, ...]] = []
    for product in sorted(snapshot.products.values(), key=lambda entry: entry.id):
        operator = snapshot.operators[product.operator_id]
        prefix = prefixes.get(operator.id)
        mobile = phonenumbers.example_number_for_type(operator.country_iso2, MOBILE)
        if product.kind != "fixed" or not product.local_value or not prefix or not mobile:
            continue
        rest = len(f"{mobile.country_code}{mobile.national_number}") - len(prefix)
        if snapshot.product(product.id) is None or not 2 <= rest <= 12:
            continue
        split = split_price(product, product.local_value)
        names = (product.id, operator.id, operator.name, operator.country_iso2, product.currency)
        amounts = (product.local_value, split.price, split.cost, split.fee, split.vat)
        rows.append((len(rows), *names, *amounts, prefix, rest, 10**rest))
    await connection.execute(
        text("""CREATE TEMP TABLE bench_products (k int PRIMARY KEY, product_id text,
            operator_id text, operator_name text, iso2 text, currency text, local_amount bigint,
            price bigint, cost bigint, fee bigint, vat bigint, prefix text, digits int,
            modulus bigint)""")
    )
    places = ", ".join(f":p{i}" for i in range(len(rows[0])))
    await connection.execute(
        text(f"INSERT INTO bench_products VALUES ({places})"),
        [{f"p{i}": value for i, value in enumerate(row)} for row in rows],
    )
    await connection.execute(
        text(f"""CREATE TEMP TABLE bench_customers AS SELECT c, {uid("cus")} AS id,
            'tok_sandbox_success_' || {hexes(24)} AS card_token,
            lpad((c % 10000)::text, 4, '0') AS last4, {hexes(32)} AS fingerprint,
            CAST(:start AS timestamptz) - {ms(rand("c", 6, 30 * 86_400_000))} AS created
            FROM generate_series(0, {customers - 1}) AS g(c)"""),
        {"start": start},
    )
    await connection.execute(text("ALTER TABLE bench_customers ADD PRIMARY KEY (c)"))
    await connection.execute(text("ANALYZE bench_products, bench_customers"))
    accounts = """INSERT INTO ledger_accounts (id, code, currency, customer_id,
        debits_must_not_exceed_credits, credits_must_not_exceed_debits, debits_posted,
        credits_posted, debits_pending, credits_pending, created_at) """
    await connection.execute(
        text("""INSERT INTO customers (id, first_name, last_name, email, email_key, phone,
            password_hash, phone_verified_at, status, block_reason, role, language,
            country_iso2, date_of_birth, residence_country, created_at, deleted_at)
            SELECT id, 'Ada', 'Obi', 'buyer' || c || '@example.com', 'buyer' || c ||
            '@example.com', '+4477' || lpad(c::text, 8, '0'), NULL, created + interval '5 s',
            'active', NULL, 'customer', 'en', 'GB', NULL, NULL, created, NULL
            FROM bench_customers""")
    )
    await connection.execute(
        text(f"""{accounts} SELECT {wallet("id")}, 'wallet', 'EUR', id, true, false,
            0, 0, 0, 0, created + interval '10 s' FROM bench_customers""")
    )
    system = ", ".join(
        f"({q(name)}, {q(name.split(':')[0])}, 'EUR', NULL, false, false, 0, 0, 0, 0, :start)"
        for name in SYSTEM_ACCOUNTS
    )
    await connection.execute(text(f"{accounts} VALUES {system}"), {"start": start})
    return len(rows)


async def keys_aside(connection: AsyncConnection) -> list[str]:
    """Drop the keys, unique constraints, indexes and foreign keys of the three big tables
    for the load, as pg_restore loads before it indexes; returns the statements that put
    them back as they were, foreign keys last, so the database checks every id and every
    reference once. CHECK constraints stay on throughout."""
    rows = await connection.execute(
        text(f"""SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
            format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,
            pg_get_constraintdef(oid)), contype = 'f' FROM pg_constraint
            WHERE contype IN ('p', 'u', 'f')
            AND (conrelid = ANY({BIG_TABLES}) OR confrelid = ANY({BIG_TABLES}))
            UNION ALL SELECT format('DROP INDEX %s', indexrelid::regclass),
            pg_get_indexdef(indexrelid), false FROM pg_index WHERE indrelid = ANY({BIG_TABLES})
            AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE contype IN ('p', 'u'))
            """)
    )
    found = sorted(rows.all(), key=lambda row: not row[2])  # foreign keys go first
    for drop, _, _ in found:
        await connection.exec_driver_sql(drop)
    return [add for _, add, _ in reversed(found)]


def balances(moved: str) -> str:
    """A CTE that adds the posted transfers of ``moved`` to their accounts' rows; every
    hold is posted in the same statement, so nothing stays pending."""
    return f"""balances AS (UPDATE ledger_accounts AS a SET
        debits_posted = a.debits_posted + s.debits, credits_posted = a.credits_posted + s.credits
        FROM (SELECT account, sum(debits) AS debits, sum(credits) AS credits FROM (
        SELECT debit AS account, amount AS debits, 0 AS credits FROM {moved}
        WHERE kind <> 'pending' UNION ALL SELECT credit, 0, amount FROM {moved}
        WHERE kind <> 'pending') AS x GROUP BY account) AS s WHERE a.id = s.account)"""


def fundings_sql(orders: int, customers: int, products: int) -> str:
    """Each customer's fundings, before any order: what their wallet orders cost, rounded
    up to 5 EUR, plus 5 to 50 EUR left over, added ``STEP`` at a time."""
    spent = f"""SELECT w.c, sum(p.price) AS spent FROM {source(customers, products)}
        WHERE w.by_wallet GROUP BY w.c"""
    return f"""WITH plan AS MATERIALIZED (SELECT cu.id AS cid, cu.card_token, cu.last4,
        least({STEP}, t.total - (f.i - 1) * {STEP}) AS amount, {uid("fund")} AS fid,
        {uid("je")} AS jid, {uid("tr")} AS tid, cu.created + f.i * interval '30 s' AS at
        FROM bench_customers AS cu LEFT JOIN ({spent}) AS s ON s.c = cu.c
        CROSS JOIN LATERAL (SELECT ((coalesce(s.spent, 0) + 499) / 500 + 1
        + {rand("cu.c", 8, 10)}) * 500 AS total) AS t
        CROSS JOIN LATERAL generate_series(1, (t.total + {STEP - 1}) / {STEP}) AS f(i)),
    moved AS (SELECT 'posted' AS kind, {q(CLEARING)} AS debit, {wallet("cid")} AS credit,
        amount FROM plan),
    fundings AS (INSERT INTO wallet_fundings (id, customer_id, idempotency_key, amount,
        status, card_id, card_token, card_last4, gateway_reference, decline_code, due_at,
        created_at, updated_at) SELECT fid, cid, gen_random_uuid()::text, amount, 'credited',
        NULL, card_token, last4, 'pi_sandbox_' || {hexes(24)}, NULL, at + interval '30 s',
        at, at + {ms(60)} FROM plan),
    entries AS (INSERT INTO journal_entries (id, kind, reference, idempotency_key,
        created_at) SELECT jid, 'wallet_funding', fid, fid || {q(":credit")}, at + {ms(50)}
        FROM plan),
    transfers AS (INSERT INTO transfers (id, entry_id, kind, debit_account_id,
        credit_account_id, currency, amount, pending_id, timeout_at, created_at)
        SELECT tid, jid, 'posted', {q(CLEARING)}, {wallet("cid")}, 'EUR', amount, NULL, NULL,
        at + {ms(50)} FROM plan), {balances("moved")}
    SELECT count(*) FROM plan"""


def orders_sql(orders: int, customers: int, products: int) -> str:
    """Orders ``:lo`` to ``:hi`` - 1, succeeded, with their entries, transfers and balances,
    placed one after another over ``HISTORY`` up to ``:now``."""
    history = int(HISTORY.total_seconds()) * 1000
    step = max(1, history // orders)
    hold = f"CASE WHEN s.by_wallet THEN {wallet('s.cid')} ELSE {q(CLEARING)} END"
    timeout = "s.at + CAST(:timeout AS interval)"
    legs = [  # transfer, entry, kind, debit, credit, amount, its hold, timeout, ms after
        (1, 1, "pending", hold, q(book.IN_FLIGHT), "price", "NULL", timeout, 40),
        (2, 2, "post_pending", hold, q(book.IN_FLIGHT), "price", "s.tr1", "NULL", 900),
        (3, 3, "posted", q(book.IN_FLIGHT), q(book.SALES), "cost", "NULL", "NULL", 910),
        (4, 3, "posted", q(book.IN_FLIGHT), q(book.FEES), "fee", "NULL", "NULL", 910),
        (5, 3, "posted", q(book.IN_FLIGHT), q(book.VAT), "vat", "NULL", "NULL", 910),
        (6, 3, "posted", q(book.COST_OF_SALES), q(PAYABLE), "cost", "NULL", "NULL", 910),
    ]
    moved = ", ".join(
        f"(s.tr{t}, s.je{e}, '{kind}', {debit}, {credit}, s.{amount}, {pending}::text,"
        f" ({timeout})::timestamptz, s.at + {ms(after)})"
        for t, e, kind, debit, credit, amount, pending, timeout, after in legs
    )
    ids = ", ".join(
        [f"{uid('je')} AS je{i}" for i in (1, 2, 3)]
        + [f"{uid('tr')} AS tr{i}" for i in range(1, 7)]
    )
    card = "CASE WHEN s.by_wallet THEN NULL ELSE {} END".format
    recipient = rand(f"w.c * 8 + {rand('g.n', 5, 5)}", 9, "p.modulus")
    return f"""WITH s AS MATERIALIZED (SELECT cu.id AS cid, cu.card_token, cu.last4,
        cu.fingerprint, p.*, w.by_wallet, {uid("ord")} AS oid, {ids},
        CAST(:now AS timestamptz) - {ms(history)} + {ms(f"g.n * {step} + {rand('g.n', 4, step)}")}
        AS at, '+' || p.prefix || lpad(({recipient})::text, p.digits, '0') AS recipient,
        CASE WHEN {rand("g.n", 6, 7)} = 0 THEN 'Happy birthday!' END AS message
        FROM {source(customers, products)} JOIN bench_customers AS cu ON cu.c = w.c),
    moved AS MATERIALIZED (SELECT m.* FROM s CROSS JOIN LATERAL (VALUES {moved})
        AS m(id, entry_id, kind, debit, credit, amount, pending_id, timeout_at, created_at)
        WHERE m.amount > 0),
    new_orders AS (INSERT INTO orders (id, customer_id, status, recipient_phone, country_iso2,
        operator_id, operator_name, product_id, product_type, local_amount, local_currency,
        price_amount, cost_amount, fee_amount, vat_amount, message, payment_method, card_id,
        card_token, card_last4, card_brand, card_fingerprint, card_country, risk_outcome,
        risk_score, review_decision, payment_status, refunded_amount, gateway_reference,
        hold_transfer_id, supplier_transaction_id, failure_code, failure_message, attempts,
        due_at, expires_at, created_at, updated_at)
        SELECT s.oid, s.cid, 'succeeded', s.recipient, s.iso2, s.operator_id, s.operator_name,
        s.product_id, 'topup', s.local_amount, s.currency, s.price, s.cost, s.fee, s.vat,
        s.message, CASE WHEN s.by_wallet THEN 'wallet' ELSE 'card' END, NULL,
        {card("s.card_token")}, {card("s.last4")}, {card("'visa'")}, {card("s.fingerprint")},
        {card("'US'")}, 'allow', 0, NULL, 'captured', 0, {card("'pi_sandbox_' || " + hexes(24))},
        s.tr1, 'sim_' || {hexes(16)}, NULL, NULL, 0, s.at + interval '2 s',
        s.at + CAST(:expiry AS interval), s.at, s.at + {ms(950)} FROM s),
    entries AS (INSERT INTO journal_entries (id, kind, reference, idempotency_key, created_at)
        SELECT e.* FROM s CROSS JOIN LATERAL (VALUES (s.je1, CASE WHEN s.by_wallet THEN
        'wallet_order_hold' ELSE 'order_hold' END, s.oid, s.oid || {q(":hold")}, s.at + {ms(40)}),
        (s.je2, 'post_hold', s.tr1, s.oid || {q(":capture")}, s.at + {ms(900)}),
        (s.je3, 'order_revenue', s.oid, s.oid || {q(":revenue")}, s.at + {ms(910)})) AS e),
    transfers AS (INSERT INTO transfers (id, entry_id, kind, debit_account_id,
        credit_account_id, currency, amount, pending_id, timeout_at, created_at)
        SELECT id, entry_id, kind, debit, credit, 'EUR', amount, pending_id, timeout_at,
        created_at FROM moved), {balances("moved")}
    SELECT count(*) FROM moved"""


class Sizes(NamedTuple):
    heavy: str  # the heavy customer's id
    heavy_orders: int
    fundings: int
    transfers: int
    megabytes: int


async def generate(engine: AsyncEngine, orders: int, customers: int, began: float) -> Sizes:
    """Fill the database, a transaction per statement, telling how far it got on stderr."""
    now = clock.now()
    start = now - HISTORY - timedelta(days=10)  # customers sign up and fund, then order
    async with engine.connect() as connection:
        for setting in ("work_mem = '256MB'", "maintenance_work_mem = '2GB'"):
            await connection.execute(text(f"SET {setting}"))
        products = await prepare(connection, customers, start)
        restore = await keys_aside(connection)
        await connection.commit()
        say(began, f"{customers:,} customers, their wallets; {products} products on sale")
        sql = fundings_sql(orders, customers, products)
        funded = (await connection.execute(text(sql), {"lo": 0, "hi": orders})).scalar_one()
        await connection.commit()
        say(began, f"{funded:,} wallet fundings")
        statement, transfers, shown = text(orders_sql(orders, customers, products)), funded, 0.0
        for lo in range(0, orders, CHUNK):
            hi = min(orders, lo + CHUNK)
            values = {"lo": lo, "hi": hi, "now": now, "expiry": PENDING_LIMIT}
            values["timeout"] = PENDING_LIMIT + book.HOLD_MARGIN
            transfers += (await connection.execute(statement, values)).scalar_one()
            await connection.commit()
            if hi == orders or time.perf_counter() - shown > 15:
                shown = time.perf_counter()
                say(began, f"{hi:,} of {orders:,} orders, {transfers:,} transfers")
        for add in restore:
            await connection.exec_driver_sql(add)
            await connection.commit()
            say(began, add[:100])
        await connection.execute(text("ANALYZE"))
        await connection.commit()
        heavy = await connection.scalar(text("SELECT id FROM bench_customers WHERE c = 0"))
        size = await connection.scalar(text("SELECT pg_database_size(current_database())"))
    say(began, "analyzed")
    return Sizes(str(heavy), (orders + 99) // 100, funded, transfers, int(size) // 1_000_000)


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def rank(share: float) -> float:
        return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000, 3)

    return {"p50_ms": rank(0.50), "p95_ms": rank(0.95), "p99_ms": rank(0.99)}


async def explain(factory: async_sessionmaker[AsyncSession], read: Read[T], arg: T) -> list[str]:
    """The plan of the last SELECT that ``read`` sent, sent again under EXPLAIN ANALYZE."""
    sent: list[tuple[str, Any]] = []

    def capture(*event_args: Any) -> None:
        sent.append((event_args[2], event_args[3]))  # statement, parameters

    async with factory() as session:
        connection = await session.connection()
        raw = connection.sync_connection
        assert raw is not None
        event.listen(raw, "before_cursor_execute", capture)
        await read(session, arg)
        event.remove(raw, "before_cursor_execute", capture)
        statement, parameters = [s for s in sent if s[0].lstrip().startswith("SELECT")][-1]
        plan = await connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters
        )
        return [str(row[0]) for row in plan]


async def timed(
    factory: async_sessionmaker[AsyncSession], read: Read[T], args: Sequence[T], warmup: int
) -> dict[str, object]:
    """Each read in a session of its own; the first ``warmup`` ones are not counted, and a
    slow read stops after ``BUDGET`` seconds (``reads`` says how many were timed)."""
    seconds: list[float] = []
    started = time.perf_counter()
    for index, arg in enumerate(args):
        async with factory() as session:
            began = time.perf_counter()
            await read(session, arg)
            if index >= warmup:
                seconds.append(time.perf_counter() - began)
        if len(seconds) >= 50 and time.perf_counter() - started > BUDGET:
            break
    plan = await explain(factory, read, args[-1])
    return {
        **percentiles(seconds),
        "reads": len(seconds),
        "uses_index": any("Index Scan" in line or "Index Only Scan" in line for line in plan),
        "seq_scan": any("Seq Scan" in line for line in plan),
        "buffers": next((line.strip() for line in plan if "Buffers:" in line), ""),
        "execution": next((line for line in plan if line.startswith("Execution")), ""),
        "plan": plan,
    }


async def measure_reads(engine: AsyncEngine, sizes: Sizes, reads: int) -> dict[str, object]:
    factory = create_session_factory(engine)
    # 90% down the heavy customer's history, leaving a full page and one more after it.
    skip = min(sizes.heavy_orders * 9 // 10, sizes.heavy_orders - PAGE - 2)
    async with factory() as session:
        ids = list(await session.scalars(text("SELECT id FROM customers ORDER BY id")))
        row = (
            await session.execute(
                text("""SELECT created_at, id FROM orders WHERE customer_id = :heavy
                    ORDER BY created_at DESC, id DESC OFFSET :skip LIMIT 1"""),
                {"heavy": sizes.heavy, "skip": skip},
            )
        ).one()
    # The cursor as GET /v1/orders gives it to the client, and reads it back.
    deep = decode_cursor(encode_cursor(row[0].astimezone(UTC), str(row[1])))
    warmup, rng = min(100, reads), random.Random(8)
    others = rng.choices([i for i in ids if i != sizes.heavy], k=warmup + reads)
    heavy = [sizes.heavy] * (warmup + reads)
    accounts = [list(SYSTEM_ACCOUNTS)[i % len(SYSTEM_ACCOUNTS)] for i in range(warmup + reads)]

    async def first_page(session: AsyncSession, customer_id: str) -> object:
        return await OrderRepository(session).page_of(customer_id, limit=PAGE + 1, after=None)

    async def deep_page(session: AsyncSession, customer_id: str) -> object:
        page = await OrderRepository(session).page_of(customer_id, limit=PAGE + 1, after=deep)
        assert len(page) == PAGE + 1
        return page

    async def wallet_balance(session: AsyncSession, customer_id: str) -> object:
        return await balance_of(session, customer_id)  # GET /v1/wallet

    async def account_balance(session: AsyncSession, account_id: str) -> object:
        return await LedgerRepository(session).account(account_id)

    async def statement(session: AsyncSession, customer_id: str) -> object:
        account = wallet_account_id(customer_id)  # GET /v1/wallet/transactions
        return await WalletRepository(session).lines(account, limit=PAGE + 1, after=None)

    return {
        "orders_first_page": await timed(factory, first_page, others, warmup),
        "orders_first_page_heavy": await timed(factory, first_page, heavy, warmup),
        "orders_deep_page_heavy": await timed(factory, deep_page, heavy, warmup),
        "wallet_balance": await timed(factory, wallet_balance, others, warmup),
        "ledger_account_balance": await timed(factory, account_balance, accounts, warmup),
        "wallet_statement_first_page": await timed(factory, statement, others, warmup),
        "wallet_statement_first_page_heavy": await timed(factory, statement, heavy, warmup),
    }


async def measure_scale(
    server_url: str, *, orders: int, customers: int, reads: int = 1000, check: bool = False
) -> dict[str, object]:
    """Generate the data on a fresh database beside ``server_url``, time the reads, drop
    the database. ``check`` also runs ``topup ledger check`` (minutes at 10M orders)."""
    if orders < 100 or customers < 2 or reads < 1:
        raise ValueError("at least 100 orders, 2 customers and 1 read")
    began = time.perf_counter()
    async with fresh_database(server_url, "scale") as url:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            document = parse_catalogue(json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8")))
            async with unit_of_work(create_session_factory(engine)) as session:
                await load_catalogue(session, document)
            generating = time.perf_counter()
            sizes = await generate(engine, orders, customers, began)
            entries = 3 * orders + sizes.fundings
            figures: dict[str, object] = {
                "orders": orders,
                "customers": customers,
                "heavy_customer_orders": sizes.heavy_orders,
                "wallet_fundings": sizes.fundings,
                "journal_entries": entries,
                "transfers": sizes.transfers,
                "ledger_accounts": customers + len(SYSTEM_ACCOUNTS),
                "ledger_rows": entries + sizes.transfers + customers + len(SYSTEM_ACCOUNTS),
                "database_mb": sizes.megabytes,
                "generation_seconds": round(time.perf_counter() - generating, 1),
            }
            if check:
                async with create_session_factory(engine)() as session:
                    breaches = await check_ledger(session)
                figures["ledger_check"] = [str(breach) for breach in breaches] or "passed"
                say(began, f"ledger check: {figures['ledger_check']}")
            figures["reads"] = await measure_reads(engine, sizes, reads)
            say(began, "reads timed")
        finally:
            await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the reads on a large generated database.")
    parser.add_argument("--database", default=SERVER, help="a PostgreSQL server URL")
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--check", action="store_true", help="also run topup ledger check")
    options = vars(parser.parse_args())
    print(json.dumps(asyncio.run(measure_scale(options.pop("database"), **options)), indent=1))


if __name__ == "__main__":
    main()
