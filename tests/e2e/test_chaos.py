"""The crash test at CI size: the API and two workers as real processes on PostgreSQL,
killed at random and at every named recovery point under a stream of orders; at the end
not one violation, and kills that really happened (a run that killed nothing proves
nothing). ``make chaos`` is the larger run."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.chaos import kills
from scripts.chaos.run import ChaosOptions, run_chaos
from scripts.chaos.stream import OUTCOMES, PAYMENT_KINDS
from tests.fixtures.databases import postgres_url_or_skip

pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.postgres]


def ci_options(server_url: str, work_directory: Path) -> ChaosOptions:
    """Small: the points come one after another with probes, so a few dozen orders are
    enough to pass each of them and to cover every outcome and payment."""
    return ChaosOptions(
        server_url=server_url,
        orders=24,
        seconds=12.0,
        customers=4,
        random_kills=4,
        kill_interval=(1.5, 3.5),
        settle_seconds=40.0,
        retry_budget_seconds=60.0,
        points_seconds=60.0,
        work_directory=work_directory,
    )


async def test_money_credit_and_messages_survive_sigkill_everywhere(tmp_path: Path) -> None:
    options = ci_options(postgres_url_or_skip(), tmp_path)

    report = await run_chaos(options)

    assert report.violations == [], report.as_json()
    assert sum(report.kills_random.values()) == options.random_kills
    assert report.missed_points == [], report.as_json()
    for point in kills.EVERY_POINT:
        assert report.kills_at_point.get(point, 0) >= 1, (point, report.as_json())
    for final in ("succeeded", "failed", "declined", "rejected"):
        assert report.orders.get(final, 0) > 0, (final, report.as_json())
    exercised = {label.split("/")[0] for label in report.exercised}
    assert set(OUTCOMES) | {"funding"} <= exercised, report.as_json()
    paid_with = {label.split("/")[1] for label in report.exercised if "/" in label}
    assert set(PAYMENT_KINDS) <= paid_with, report.as_json()
    assert report.refunds.get("paid", 0) >= 1, report.as_json()
    assert report.client_gave_up == 0, report.as_json()
    assert report.delivered_emails > 0
    assert report.delivered_sms > 0
