"""Fixtures every test can use: both databases, a runtime, an HTTP client on the app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.databases import BACKENDS, fresh_database, migrated_engine
from tests.fixtures.transport import serve
from topup.catalogue.schemas import CatalogueFile
from topup.catalogue.service import load_catalogue, parse_catalogue
from topup.cli import SHIPPED_CATALOGUE
from topup.config import Environment, Settings
from topup.kit import clock
from topup.kit.db import create_session_factory, unit_of_work
from topup.runtime import Runtime, build_runtime

# The stand-ins for outside services, as fixtures for every test: an SMTP server
# (smtp_server, smtp_server_tls_auth, smtp_tls), Twilio's Messages API (sms_provider) and
# Reloadly's Airtime API (reloadly_server).
# ``risky``: a fresh database with the shipped catalogue and risk rules, and an app on it.
# ``services``: a real `topup serve` subprocess on each database (sqlite_service,
# postgres_service), for the end-to-end and browser tests. ``hosted_app``: the app on a
# copy of the risk template, in an event loop of its own, for the schemathesis run.
# ``faulty``: a connection dropper and a client that answers as a server would, for the
# database-fault tests.
pytest_plugins = [
    "tests.fixtures.smtp_server",
    "tests.fixtures.sms_provider",
    "tests.fixtures.reloadly_server",
    "tests.fixtures.risky",
    "tests.fixtures.services",
    "tests.fixtures.fuzzing",
    "tests.fixtures.faulty",
]


@pytest.fixture(scope="session")
def shipped_catalogue() -> CatalogueFile:
    return parse_catalogue(json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8")))


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated database on each backend, with the shipped catalogue loaded."""
    backend: str = request.param
    generator = fresh_database(backend, tmp_path_factory.mktemp(backend))
    url = await anext(generator)
    engine = await migrated_engine(url)
    await engine.dispose()
    yield url
    await generator.aclose()


@pytest.fixture(scope="session")
async def engine(database_url: str, shipped_catalogue: CatalogueFile) -> AsyncIterator[AsyncEngine]:
    engine = await migrated_engine(database_url)
    async with unit_of_work(create_session_factory(engine)) as session:
        await load_catalogue(session, shipped_catalogue)
    yield engine
    await engine.dispose()


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """The tests' settings on ``database_url``, with ``overrides`` (a provider, say)."""
    return Settings(
        env=Environment.test,
        database_url=database_url,
        log_json=True,
        catalogue_cache_seconds=0.0,
        run_worker=False,  # tests move orders themselves, step by step
        # The real argon2id, at a cost that keeps hundreds of sign-ups in the suite quick.
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        **overrides,
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url)


@pytest.fixture
def runtime(settings: Settings, engine: AsyncEngine) -> Runtime:
    return build_runtime(settings, engine)


@pytest.fixture
async def client(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings, runtime) as http:
        yield http


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def tmp_catalogue_path(tmp_path: Path) -> Path:
    return tmp_path / "catalogue.json"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Where the services are required (CI), a skipped test fails the run: nothing may hide."""
    from tests.fixtures.databases import services_required

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if services_required() and skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(
                f"{len(skipped)} test(s) skipped while TOPUP_REQUIRE_SERVICES=1", red=True
            )


@pytest.fixture(params=BACKENDS)
async def empty_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """A new, migrated database with nothing in it, for tests that need a blank slate."""
    generator = fresh_database(request.param, tmp_path)
    engine = await migrated_engine(await anext(generator))
    yield engine
    await engine.dispose()
    await generator.aclose()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The test Redis, with every rate-limit counter cleared before and after the test."""
    from tests.fixtures.databases import redis_url_or_skip
    from topup.kit.ratelimit import create_storage

    url = redis_url_or_skip()
    storage = create_storage(url)
    await storage.reset()
    yield url
    await storage.reset()
