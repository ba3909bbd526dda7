"""The crash test at CI size: the API and two workers as real processes on PostgreSQL,
killed at random and at every named recovery point under a stream of orders; at the end
not one violation, and kills that really happened (a run that killed nothing proves
nothing). ``make chaos`` is the larger run."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.chaos import kills
from scripts.chaos.run import ChaosOptions, run_chaos
from tests.fixtures.databases import postgres_url_or_skip

pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.postgres]

REACHED_IN_STREAM = (
    kills.ORDER_POINTS + kills.FUNDING_POINTS + kills.MESSAGE_POINTS + kills.SETTLE_POINTS
)


async def test_money_credit_and_messages_survive_sigkill_everywhere(tmp_path: Path) -> None:
    options = ChaosOptions(
        server_url=postgres_url_or_skip(),
        orders=40,
        seconds=20.0,
        customers=5,
        random_kills=4,
        kill_interval=(2.0, 4.0),
        settle_seconds=45.0,
        retry_budget_seconds=90.0,
        work_directory=tmp_path,
    )

    report = await run_chaos(options)

    assert report.violations == [], report.as_json()
    assert sum(report.kills_random.values()) == options.random_kills
    assert set(REACHED_IN_STREAM) <= set(report.kills_at_point), report.as_json()
    assert report.orders.get("succeeded", 0) > 0, report.as_json()
    assert report.orders.get("failed", 0) > 0, report.as_json()
    assert report.orders.get("declined", 0) > 0, report.as_json()
    assert report.delivered_emails > 0
    assert report.delivered_sms > 0
