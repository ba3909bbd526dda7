"""The ``topup`` command line: run the service, migrate the database, manage the catalogue."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from topup.catalogue import service as catalogue_service
from topup.catalogue.repository import CatalogueRepository
from topup.catalogue.schemas import CatalogueFile
from topup.config import Settings, get_settings
from topup.kit import migrate
from topup.kit.db import create_engine, create_session_factory, is_sqlite, unit_of_work
from topup.kit.errors import AppError

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


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


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
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
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

    async def run() -> catalogue_service.LoadSummary:
        engine = create_engine(get_settings().database_url)
        try:
            async with unit_of_work(create_session_factory(engine)) as session:
                return await catalogue_service.load_catalogue(session, document)
        finally:
            await engine.dispose()

    summary = asyncio.run(run())
    typer.echo(
        f"Catalogue version {summary.version}: {summary.countries} countries, "
        f"{summary.operators} operators, {summary.products} products, "
        f"{summary.prefixes} prefixes; {summary.disabled} switched off."
    )


def _switch(kind: str, identifier: str, enabled: bool) -> None:
    async def run() -> int:
        engine = create_engine(get_settings().database_url)
        try:
            async with unit_of_work(create_session_factory(engine)) as session:
                return await catalogue_service.set_enabled(
                    session, kind=kind, identifier=identifier, enabled=enabled
                )
        finally:
            await engine.dispose()

    try:
        version = asyncio.run(run())
    except AppError as error:
        raise _fail(error.message) from error
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
