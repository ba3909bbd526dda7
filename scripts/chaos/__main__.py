"""``python -m scripts.chaos``: one crash-test run; prints the report, writes it as JSON."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from scripts.chaos.run import ChaosOptions, ChaosReport, run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "TOPUP_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="any database on the PostgreSQL server; the run makes and drops its own",
    )
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=180.0, help="how long the stream lasts")
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--random-kills", type=int, default=40)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--json", type=Path, default=Path("chaos-results/chaos.json"))
    arguments = parser.parse_args()
    spacing = arguments.seconds / max(arguments.random_kills, 1)
    options = ChaosOptions(
        server_url=arguments.database,
        orders=arguments.orders,
        seconds=arguments.seconds,
        customers=arguments.customers,
        random_kills=arguments.random_kills,
        kill_interval=(spacing * 0.5, spacing * 1.5),
        seed=arguments.seed,
        work_directory=arguments.json.parent,
    )
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(run_chaos(options))
    arguments.json.write_text(report.as_json() + "\n", encoding="utf-8")
    print_report(report)
    return 1 if report.violations else 0


def print_report(report: ChaosReport) -> None:
    print(f"Topup chaos run: {report.seconds} s (phases end at {report.phases})")
    print(f"orders: {sum(report.orders.values())} {report.orders}")
    print(f"  operations sent: {report.operations}")
    print(f"answers: {report.answers}")
    print(f"client retries: {report.client_retries}, gave up: {report.client_gave_up}")
    print(f"kills: {report.kills_total} — random {report.kills_random}")
    print(f"  at points {report.kills_at_point}; missed {report.missed_points}")
    print(f"refunds: {report.refunds}")
    print(f"messages: {report.messages}")
    print(f"  received {report.delivered_emails} emails, {report.delivered_sms} SMS")
    print(f"  repeated under the same identity: {report.same_identity_repeats}")
    print(f"ledger check: {report.ledger_check}")
    print(f"violations: {len(report.violations)}")
    for violation in report.violations:
        print(f"  - {violation}")


if __name__ == "__main__":
    sys.exit(main())
