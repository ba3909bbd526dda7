"""PostgreSQL restarted under a stream of orders, with Topup's real processes on a private
cluster (never the shared test server): every answer a clean 503 or a success, never a
500; ready again within seconds; every accepted order whole and final; the ledger clean.
The harness is scripts/db_faults (``make db-faults`` runs a larger version)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.db_faults.cluster import usable
from scripts.db_faults.harness import Plan, run
from tests.fixtures.databases import services_required
from tests.fixtures.services import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def test_orders_through_a_postgresql_restart_and_a_stop_fail_cleanly_and_none_is_half_written(
    tmp_path: Path,
) -> None:
    if not usable():
        message = "a private PostgreSQL cluster needs root, runuser and the server binaries"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    figures = run(
        Plan(orders=24, restarts=1, stop_seconds=3.0, concurrency=4, deadline_seconds=60.0),
        cluster_port=free_port(),
        api_port=free_port(),
        logs=tmp_path,
    )

    report = "\n".join(figures.lines())
    assert figures.violations == [], report
    assert figures.answers.get(500, 0) == 0, report
    assert figures.unreachable == 0, report
    assert figures.abandoned == 0, report
    assert len(figures.accepted) == 24, report
    assert figures.answers.get(503, 0) > 0, "no request met the outage: " + report
    assert len(figures.recoveries) == 2, report
    assert max(figures.recoveries) < 15, report
