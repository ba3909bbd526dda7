"""The ``topup`` command line: run the service, migrate the database, manage the catalogue."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts import service as account_service
from topup.accounts.models import Role
from topup.catalogue import service as catalogue_service
from topup.catalogue.repository import CatalogueRepository
from topup.catalogue.schemas import CatalogueFile
from topup.config import Settings, get_settings
from topup.kit import migrate, sandbox_clock
from topup.kit.db import create_engine, create_session_factory, is_sqlite, unit_of_work
from topup.kit.errors import AppError
from topup.kit.httpserver import bounded_head_protocol
from topup.kit.ratelimit import RateLimiter, create_storage
from topup.ledger.checks import Breach, check_ledger
from topup.notifications import service as notification_service
from topup.risk import rules as risk_rules
from topup.runtime import build_account_policy

T = TypeVar("T")

SHIPPED_CATALOGUE = Path(__file__).parent / "catalogue" / "data" / "catalogue.json"

app = typer.Typer(
    help="Topup: international mobile top-up, paid in euros.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
catalogue_app = typer.Typer(help="Countries, operators and products.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalogue_app, name="catalogue")
ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
admin_app = typer.Typer(help="Staff accounts and blocking.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
messages_app = typer.Typer(help="The outbox of email and SMS.", no_args_is_help=True)
app.add_typer(messages_app, name="messages")


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


# With --workers, uvicorn's supervisor pings each API process every half second and kills
# one that does not answer within this time. Its default of 5 s is shorter than an API
# process takes to import Topup on a busy 2-core machine (3.5 s at a load of 6), so the
# supervisor killed every new process before it could answer, again and again, and never
# served; and it killed a running one that the CPU starved for 5 s, with its requests.
WORKER_HEALTHCHECK_SECONDS = 60


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes", min=1)] = 1,
) -> None:
    """Run the HTTP API (http://127.0.0.1:8000, docs at /docs)."""
    settings = get_settings()
    asyncio.run(_prepare_database(settings))
    uvicorn.run(
        "topup.app:create_app",
        factory=True,
        # httptools with bounds on the request head's size and time (uvicorn and llhttp
        # set none).
        http=bounded_head_protocol(settings.head_timeout_seconds),
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


async def _prepare_database(settings: Settings) -> None:
    """The embedded SQLite default migrates itself and gets the demo catalogue when empty;
    a PostgreSQL database is migrated on purpose, by `topup db upgrade`."""
    engine = create_engine(settings.database_url)
    try:
        if is_sqlite(settings.database_url):
            await migrate.upgrade(engine)
        elif not await migrate.is_up_to_date(engine):
            raise _fail("The database schema is behind this version: run `topup db upgrade`.")
        session_factory = create_session_factory(engine)
        async with unit_of_work(session_factory) as session:
            version = await CatalogueRepository(session).current_version()
            if version is None:
                path = Path(settings.demo_catalogue_path or SHIPPED_CATALOGUE)
                summary = await catalogue_service.load_catalogue(session, _read_catalogue(path))
                typer.echo(
                    f"Loaded the demo catalogue: {summary.countries} countries, "
                    f"{summary.operators} operators, {summary.products} products."
                )
            if await risk_rules.load_defaults(session):
                typer.echo("Loaded the default risk rules (limits, market rules, fraud signals).")
    finally:
        await engine.dispose()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply every migration up to REVISION (default: the newest)."""

    async def run() -> None:
        engine = create_engine(get_settings().database_url)
        try:
            await migrate.upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo(f"Database at {revision}.")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one unit of work on the configured database; AppError → exit 1."""

    async def run() -> T:
        engine = create_engine(get_settings().database_url)
        try:
            async with unit_of_work(create_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except AppError as error:
        raise _fail(error.message) from error


def _read_catalogue(path: Path) -> CatalogueFile:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _fail(f"Cannot read {path}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise _fail(f"{path} is not JSON: {error}") from error
    try:
        return catalogue_service.parse_catalogue(raw)
    except AppError as error:
        raise _fail(f"{path} is not a valid catalogue: {error.message}") from error


@catalogue_app.command("load")
def catalogue_load(
    path: Annotated[Path, typer.Argument(help="A topup-catalogue/1 JSON file")] = SHIPPED_CATALOGUE,
) -> None:
    """Load a catalogue file: add and update by id; what the file lacks is switched off."""
    document = _read_catalogue(path)
    summary = _in_transaction(lambda session: catalogue_service.load_catalogue(session, document))
    typer.echo(
        f"Catalogue version {summary.version}: {summary.countries} countries, "
        f"{summary.operators} operators, {summary.products} products, "
        f"{summary.prefixes} prefixes; {summary.disabled} switched off."
    )


def _switch(kind: str, identifier: str, enabled: bool) -> None:
    version = _in_transaction(
        lambda session: catalogue_service.set_enabled(
            session, kind=kind, identifier=identifier, enabled=enabled
        )
    )
    state = "on" if enabled else "off"
    typer.echo(f"{kind.capitalize()} {identifier} switched {state} (catalogue version {version}).")


KindArgument = Annotated[str, typer.Argument(help="country, operator or product")]
IdentifierArgument = Annotated[str, typer.Argument(help="ISO code (NG) or id (ng-mtn)")]


@catalogue_app.command("disable")
def catalogue_disable(kind: KindArgument, identifier: IdentifierArgument) -> None:
    """Stop selling a country, an operator or a product (nothing is deleted)."""
    _switch(kind, identifier, enabled=False)


@catalogue_app.command("enable")
def catalogue_enable(kind: KindArgument, identifier: IdentifierArgument) -> None:
    """Sell a country, an operator or a product again."""
    _switch(kind, identifier, enabled=True)


@catalogue_app.command("sync-promotions")
def catalogue_sync_promotions() -> None:
    """Fetch the supplier's operator promotions now (the worker does it every hour)."""
    from topup.catalogue.promotions import sync_promotions
    from topup.providers.suppliers.base import SupplierUnavailable
    from topup.runtime import build_runtime

    runtime = build_runtime(get_settings())

    async def run() -> str:
        try:
            summary = await sync_promotions(runtime.promotion_sync_deps())
        except SupplierUnavailable as error:
            raise _fail(f"The supplier did not answer: {error}") from error
        finally:
            await runtime.close()
        return (
            f"Promotions from {runtime.settings.supplier.value}: {summary.created} new, "
            f"{summary.updated} changed, {summary.withdrawn} withdrawn."
        )

    typer.echo(asyncio.run(run()))


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="The staff member's email (their login)")],
    phone: Annotated[str, typer.Option(help="Their mobile phone, E.164")],
    first_name: Annotated[str, typer.Option()],
    last_name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option(help="admin or support")] = Role.admin,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            show_default=False,
            confirmation_prompt=True,
            envvar="TOPUP_ADMIN_PASSWORD",
            help="Asked for when not given",
        ),
    ] = "",
) -> None:
    """Create a staff account (the first admin, say), phone already verified."""
    settings = get_settings()
    policy = build_account_policy(settings, RateLimiter(create_storage(None)))
    request = account_service.SignupRequest(first_name, last_name, phone, email, password)
    customer = _in_transaction(
        lambda session: account_service.create_staff(session, policy, request, role=role)
    )
    typer.echo(f"{role.value.capitalize()} {customer.email} created as {customer.id}.")


@admin_app.command("block")
def admin_block(
    customer_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="Shown to the customer")],
) -> None:
    """Block an account: it can still log in and see its history, but cannot buy."""
    _in_transaction(
        lambda session: account_service.set_blocked(session, customer_id, reason=reason)
    )
    typer.echo(f"{customer_id} blocked: {reason}")


@admin_app.command("unblock")
def admin_unblock(customer_id: Annotated[str, typer.Argument()]) -> None:
    """Lift a block."""
    _in_transaction(lambda session: account_service.set_blocked(session, customer_id, reason=None))
    typer.echo(f"{customer_id} unblocked.")


@ledger_app.command("check")
def ledger_check() -> None:
    """Verify every ledger invariant; exit 1 and list the breaches if any is broken."""
    sandbox = get_settings().is_sandbox

    async def check(session: AsyncSession) -> list[Breach]:
        if sandbox:  # judge hold timeouts by the sandbox clock the service runs on
            await sandbox_clock.sync(session)
        return await check_ledger(session)

    breaches = _in_transaction(check)
    for breach in breaches:
        typer.secho(str(breach), err=True, fg=typer.colors.RED)
    if breaches:
        raise typer.Exit(code=1)
    typer.echo(
        "Ledger check passed: entries balance, balances equal their transfers, "
        "no hold is left open past its timeout."
    )


@messages_app.command("status")
def messages_status() -> None:
    """How many messages each channel has in each state, and the oldest of each."""
    counts = _in_transaction(notification_service.delivery_counts)
    if not counts:
        typer.echo("The outbox is empty.")
    for row in counts:
        oldest = row.oldest.isoformat(timespec="seconds") if row.oldest else "-"
        typer.echo(f"{row.channel:<6} {row.status:<8} {row.count:>8}  oldest {oldest}")


@messages_app.command("retry")
def messages_retry(
    message_ids: Annotated[
        list[str] | None, typer.Argument(help="Dead messages to send again (default: all)")
    ] = None,
) -> None:
    """Send dead messages again, with a fresh set of attempts (after fixing a provider)."""
    requeued = _in_transaction(
        lambda session: notification_service.requeue_dead(session, message_ids or None)
    )
    typer.echo(f"{requeued} message(s) queued again.")


@app.command()
def worker() -> None:
    """Move orders on and deliver messages; run as many as you like, on any machine."""
    from topup.kit.logging import configure_logging
    from topup.runtime import build_runtime
    from topup.worker import run_forever

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)  # as the API process does
    runtime = build_runtime(settings)

    async def run() -> None:
        try:
            await run_forever(runtime)
        finally:
            await runtime.close()

    typer.echo("Worker started; Ctrl-C stops it.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
