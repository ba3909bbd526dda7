"""``make db-faults``: the larger run, its figures printed; exit 1 on any violation."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scripts.db_faults.harness import Plan, run
from tests.fixtures.services import free_port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--stop-seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--logs", type=Path, default=Path("bench-results/db-faults"))
    arguments = parser.parse_args()
    plan = Plan(
        orders=arguments.orders,
        restarts=arguments.restarts,
        stop_seconds=arguments.stop_seconds,
        concurrency=arguments.concurrency,
        deadline_seconds=600.0,
    )
    started = time.monotonic()
    figures = run(plan, cluster_port=free_port(), api_port=free_port(), logs=arguments.logs)
    print(f"database faults: {plan}")
    print("\n".join(figures.lines()))
    print(f"run took {time.monotonic() - started:.0f} s")
    return 1 if figures.violations or figures.answers.get(500, 0) else 0


if __name__ == "__main__":
    sys.exit(main())
