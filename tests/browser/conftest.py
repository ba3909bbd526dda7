"""Browser tests: Debian's Chromium, driven by Playwright, on a real `topup serve`.

``storefront`` is the base URL of a service on each database (as every database test runs
on both); ``page`` is a fresh browser context's page, desktop-sized and in British English;
``tests.browser.support.shoot`` saves what it shows for people to look at. A test that
fails leaves ``failure.png`` and ``failure.html`` in its screenshots folder.

The browser is the system's (/usr/bin/chromium, from apt): Playwright never downloads one
here. Without it the tests skip, or fail where services are required (CI).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

from tests.browser.support import DESKTOP, close_album, folder_for, keep_failure, open_album
from tests.fixtures.databases import BACKENDS, fresh_database, services_required
from tests.fixtures.services import free_port, served, upgrade_database
from topup.kit.db import is_sqlite

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests may run as root (CI containers), where the sandbox refuses
    "--disable-gpu",  # headless machines have none; software rendering is what we get anyway
    # Nothing but the pages under test on the network: no updates, sync, or QUIC probes.
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_TESTS = Path(__file__).parent
FAILED = pytest.StashKey[bool]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is a browser test, so ``-m "not browser"`` leaves them all out."""
    for item in items:
        if item.path.is_relative_to(BROWSER_TESTS):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Tell the ``page`` fixture, at teardown, whether the test itself failed, and tell
    the reader where that page's picture and HTML will be."""
    report = yield
    uses_page = isinstance(item, pytest.Function) and "page" in item.fixturenames
    if report.when == "call" and report.failed and uses_page:
        item.stash[FAILED] = True
        folder = folder_for(item.path.stem, item.name)
        report.sections.append(("browser", f"failure.png and failure.html in {folder}"))
    return report


@pytest.fixture(params=BACKENDS)
async def storefront_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A new, empty database: a SQLite file, or a PostgreSQL database that is dropped
    afterwards (skipped without TOPUP_TEST_DATABASE_URL, unless services are required)."""
    databases = fresh_database(request.param, tmp_path)
    yield await anext(databases)
    await anext(databases, None)  # runs the generator on to dropping the database


@pytest.fixture
def storefront(storefront_database: str, tmp_path: Path) -> Iterator[str]:
    """The base URL of `topup serve` on that database, with the catalogue loaded and the
    worker running in-process, as `make run` serves it; its log is ``serve.log``."""
    if not is_sqlite(storefront_database):
        upgrade_database(storefront_database, tmp_path)  # serve migrates only SQLite itself
    port = free_port()
    yield from served(storefront_database, tmp_path, storefront_settings(port), port=port)


def storefront_settings(port: int) -> dict[str, str]:
    return {
        # Links the service writes (password reset) must lead back to this very service.
        "TOPUP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # The real argon2id at the suite's low cost: pages that sign up stay quick.
        "TOPUP_ARGON2_TIME_COST": "1",
        "TOPUP_ARGON2_MEMORY_KIB": "1024",
        "TOPUP_ARGON2_PARALLELISM": "1",
    }


def chromium_or_skip() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    if services_required():
        pytest.fail(f"{missing}: the browser tests are required (TOPUP_REQUIRE_SERVICES=1)")
    pytest.skip(f"{missing}: the browser tests are skipped")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the whole run: starting it costs about a second, a context far less."""
    executable = chromium_or_skip()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A page in a context of its own (no cookies or storage from another test)."""
    context = await browser.new_context(viewport=DESKTOP, locale="en-GB")
    folder = folder_for(request.node.path.stem, request.node.name)
    open_album(context, folder)
    try:
        page = await context.new_page()
        yield page
        if request.node.stash.get(FAILED, False):
            await keep_failure_if_possible(page, folder)
    finally:
        close_album(context)
        await context.close()


async def keep_failure_if_possible(page: Page, folder: Path) -> None:
    """A page that crashed or closed has nothing to show; the test's own error says why."""
    try:
        await keep_failure(page, folder)
    except PlaywrightError as error:
        warnings.warn(f"no failure screenshot of {page.url}: {error}", stacklevel=1)
