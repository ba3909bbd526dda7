"""Operator promotions synced from the supplier: the fake Reloadly (its documented shape)
and the simulator's sandbox promotion, by hand and through the worker's due row.

Each test has a database of its own (``risky``), so its promotions show nowhere else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from tests.backoffice.test_endpoints import staff
from tests.fixtures.reloadly_server import (
    Fault,
    FaultKind,
    Route,
    RunningReloadly,
    promotion,
    reloadly_for,
)
from tests.fixtures.risky import Risky
from topup.catalogue import tasks
from topup.catalogue.promotions import PromotionSyncDeps, SyncSummary, sync_promotions
from topup.catalogue.repository import CatalogueRepository
from topup.kit import clock
from topup.providers.suppliers.base import PromotionSource, SupplierUnavailable
from topup.providers.suppliers.reloadly import ReloadlySupplier
from topup.providers.suppliers.simulator import PROMOTED_COUNTRIES, week_start

MTN, AIRTEL = 341, 342  # Reloadly's ids of ng-mtn and ng-airtel in the fake's mapping


def deps(risky: Risky, source: PromotionSource, supplier: str = "reloadly") -> PromotionSyncDeps:
    runtime = risky.runtime
    return PromotionSyncDeps(
        runtime.session_factory, source, supplier, runtime.catalogue.invalidate
    )


async def shown(risky: Risky, operator_id: str) -> dict[str, dict[str, Any] | None]:
    """Each product's promotion, as the product list answers it."""
    response = await risky.http.get(f"/v1/operators/{operator_id}/products")
    assert response.status_code == 200, response.text
    return {product["id"]: product["promotion"] for product in response.json()["data"]}


def one(promotions: dict[str, dict[str, Any] | None]) -> dict[str, Any] | None:
    """The promotion every product of an operator shows (an operator-wide one)."""
    values = list(promotions.values())
    assert all(value == values[0] for value in values), values
    return values[0]


async def version(risky: Risky) -> int | None:
    async with risky.runtime.session_factory() as session:
        return await CatalogueRepository(session).current_version()


@pytest.fixture
async def reloadly(reloadly_server: RunningReloadly) -> Any:
    supplier = reloadly_for(reloadly_server)
    yield supplier
    await supplier.close()


async def test_a_sync_creates_updates_and_withdraws_what_reloadly_lists(
    risky: Risky, reloadly_server: RunningReloadly, reloadly: ReloadlySupplier
) -> None:
    now = clock.now().replace(microsecond=0)
    started, ends = now - timedelta(days=1), now + timedelta(days=10)
    fake = reloadly_server.reloadly
    mtn = promotion(
        9001,
        MTN,
        title2="100% Bonus on every top-up",
        start=started.strftime("%Y-%m-%d %H:%M:%S"),  # the forms Reloadly's answers use
        end=ends.strftime("%Y-%m-%dT%H:%M"),
        description='<p>Top up&nbsp;<b>NGN 500</b> or more<br/>and get it again.</p><img src="x">',
        local_denominations="NGN 500 and up",
    )
    airtel = promotion(
        9002,
        AIRTEL,
        title2="Free data and minutes",
        start=format_datetime(started),  # "Mon, 25 Jun 2018 06:00:00 +0000", as documented
        end=ends.isoformat().replace("+00:00", "Z"),
    )
    unmapped = promotion(9003, 999)  # an operator we do not sell
    fake.publish([mtn, airtel, unmapped])

    assert await sync_promotions(deps(risky, reloadly)) == SyncSummary(created=2)

    assert one(await shown(risky, "ng-mtn")) == {
        "title": "100% Bonus on every top-up",
        "description": "Top up NGN 500 or more\nand get it again.",  # no markup of theirs
        "bonus_percent": 100,
        "bonus_text": None,
        "denominations": "NGN 500 and up",
        "starts_at": started.isoformat(),
        "ends_at": ends.replace(second=0).isoformat(),
    }
    shown_airtel = one(await shown(risky, "ng-airtel"))
    assert shown_airtel is not None
    assert (shown_airtel["title"], shown_airtel["bonus_percent"]) == ("Free data and minutes", None)
    assert shown_airtel["starts_at"] == started.isoformat()

    # Reloadly changes one and stops listing the other.
    fake.publish([mtn | {"title2": "Double credit"}])
    before = await version(risky)
    assert await sync_promotions(deps(risky, reloadly)) == SyncSummary(updated=1, withdrawn=1)
    assert await version(risky) == (before or 0) + 1  # every node re-reads
    assert (one(await shown(risky, "ng-mtn")) or {})["title"] == "Double credit"
    assert one(await shown(risky, "ng-airtel")) is None

    # Nothing changed: nothing is written, and no node has to re-read.
    unchanged = await version(risky)
    assert await sync_promotions(deps(risky, reloadly)) == SyncSummary()
    assert await version(risky) == unchanged

    # An admin hides one; the supplier changing it does not bring it back. One that comes
    # back to the supplier's list shows again.
    _, admin = await staff(risky, "admin")
    listed = await risky.http.get("/v1/admin/operator-promotions?operator_id=ng-mtn", headers=admin)
    (row,) = listed.json()["data"]
    assert (row["supplier"], row["supplier_promotion_id"]) == ("reloadly", "9001")
    hidden = await risky.http.patch(
        f"/v1/admin/operator-promotions/{row['id']}", json={"enabled": False}, headers=admin
    )
    assert hidden.status_code == 200, hidden.text
    fake.publish([mtn | {"title2": "Triple credit"}, airtel])
    assert await sync_promotions(deps(risky, reloadly)) == SyncSummary(updated=2)
    assert one(await shown(risky, "ng-mtn")) is None
    assert (one(await shown(risky, "ng-airtel")) or {})["title"] == "Free data and minutes"


async def test_every_page_of_reloadly_is_read(
    risky: Risky, reloadly_server: RunningReloadly, reloadly: ReloadlySupplier
) -> None:
    now = clock.now()
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(days=1)).isoformat()
    many = [promotion(10_000 + n, MTN, start=start, end=end) for n in range(201)]
    reloadly_server.reloadly.publish(many)

    assert await sync_promotions(deps(risky, reloadly)) == SyncSummary(created=201)


async def test_a_promotion_reloadly_cannot_date_is_left_out(
    risky: Risky, reloadly_server: RunningReloadly, reloadly: ReloadlySupplier
) -> None:
    reloadly_server.reloadly.publish(
        [
            promotion(1, MTN, start="soon", end="later"),
            promotion(2, MTN, start="2030-01-02 00:00:00", end="2030-01-01 00:00:00"),
            {"promotionId": "three", "operatorId": MTN},  # not the documented shape
            promotion(4, MTN, start="2030-01-01 00:00:00", end="2030-01-02 00:00:00"),
        ]
    )
    assert await sync_promotions(deps(risky, reloadly)) == SyncSummary(created=1)


async def test_an_unanswered_sync_withdraws_nothing_and_is_tried_again_after_its_lease(
    risky: Risky, reloadly_server: RunningReloadly, reloadly: ReloadlySupplier
) -> None:
    now = clock.now()
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(days=30)).isoformat()
    fake = reloadly_server.reloadly
    fake.publish([promotion(7, MTN, start=start, end=end)])
    sync = deps(risky, reloadly)

    assert await tasks.run_due(sync) == 1  # a new supplier's row is due at once
    assert await tasks.run_due(sync) == 0  # and next in an hour
    assert one(await shown(risky, "ng-mtn")) is not None

    clock.advance(3600)
    fake.fail_next(Route.promotions, Fault(FaultKind.server_error))
    with pytest.raises(SupplierUnavailable):
        await reloadly.promotions(["ng-mtn"])
    fake.fail_next(Route.promotions, Fault(FaultKind.server_error))
    assert await tasks.run_due(sync) == 1  # taken, and failed
    assert one(await shown(risky, "ng-mtn")) is not None  # "no answer" is not "none left"
    assert await tasks.run_due(sync) == 0  # its lease holds

    fake.publish([])
    clock.advance(5 * 60)
    assert await tasks.run_due(sync) == 1
    assert one(await shown(risky, "ng-mtn")) is None


async def test_the_simulator_runs_a_weekly_promotion_in_a_few_countries(risky: Risky) -> None:
    sync = risky.runtime.promotion_sync_deps()
    assert sync.supplier == "simulator"

    summary = await sync_promotions(sync)

    assert summary == SyncSummary(created=len(PROMOTED_COUNTRIES))
    monday = week_start(clock.now())
    assert monday.weekday() == 0
    assert monday <= clock.now() < monday + timedelta(days=7)
    running = one(await shown(risky, "ng-mtn"))
    assert running is not None
    assert running["bonus_percent"] == 100
    assert datetime.fromisoformat(running["starts_at"]) == monday
    assert datetime.fromisoformat(running["ends_at"]) == monday + timedelta(days=7)
    assert one(await shown(risky, "ng-airtel")) is None  # the first operator only
    assert one(await shown(risky, "gh-mtn")) is None  # and not in every country

    assert await sync_promotions(sync) == SyncSummary()  # the same week: the same promotion

    clock.advance(7 * 86400)
    n = len(PROMOTED_COUNTRIES)
    assert await sync_promotions(sync) == SyncSummary(created=n, withdrawn=n)
    following = one(await shown(risky, "ng-mtn"))
    assert following is not None
    assert datetime.fromisoformat(following["starts_at"]) == monday + timedelta(days=7)


def test_week_start_is_monday_midnight_utc() -> None:
    sunday_night = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)  # a Sunday
    assert week_start(sunday_night) == datetime(2026, 2, 23, tzinfo=UTC)
    assert week_start(datetime(2026, 3, 2, tzinfo=UTC)) == datetime(2026, 3, 2, tzinfo=UTC)


async def test_two_workers_sync_once(risky: Risky) -> None:
    sync = risky.runtime.promotion_sync_deps()

    rounds = await asyncio.gather(tasks.run_due(sync), tasks.run_due(sync))

    assert sorted(rounds) == [0, 1]
    assert len(one_each(await all_rows(risky))) == len(PROMOTED_COUNTRIES)


async def all_rows(risky: Risky) -> list[tuple[str, str]]:
    async with risky.runtime.session_factory() as session:
        rows = await CatalogueRepository(session).promotion_page(
            operator_id=None, limit=100, after=None
        )
        return [(row.supplier, row.supplier_promotion_id) for row in rows]


def one_each(rows: list[tuple[str, str]]) -> set[tuple[str, str]]:
    assert len(rows) == len(set(rows)), rows
    return set(rows)
