"""The benchmark's one table, from the figures it writes as JSON."""

from __future__ import annotations

import os
import platform
from typing import Any

TARGET_SHARE_OF_PGBENCH = 0.18


def machine() -> str:
    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = [
                line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
            ]
        processor = names[0] if names else processor
    except OSError:
        pass
    return (
        f"{processor}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _latency(summary: dict[str, Any]) -> str:
    return f"{summary['p50_ms']:.1f} / {summary['p95_ms']:.1f} / {summary['p99_ms']:.1f}"


def _service_rows(figures: dict[str, Any]) -> list[tuple[str, ...]]:
    runs = figures["runs"]
    tps = figures["pgbench"]["tps"]
    rate = figures["settings"]["rate"]

    def each(read: Any) -> tuple[str, ...]:
        return tuple(read(run) for run in runs)

    return [
        (
            "completed top-ups/s (POST until succeeded)",
            *each(lambda run: f"{run['throughput']['completed_per_second']:,.1f}"),
            f"≥ {TARGET_SHARE_OF_PGBENCH * tps:,.0f}",
        ),
        (
            "  ÷ pgbench TPC-B tps",
            *each(lambda run: f"{run['throughput']['completed_per_second'] / tps:.3f}"),
            f"≥ {TARGET_SHARE_OF_PGBENCH}",
        ),
        (
            "  orders in flight at once (peak)",
            *each(lambda run: f"{run['throughput']['in_flight_peak']:,}"),
            "",
        ),
        (
            f"POST /v1/orders p50/p95/p99 ms at {rate:g}/s offered",
            *each(lambda run: _latency(run["fixed_rate"]["latency"])),
            "p99 ≤ 30",
        ),
        (
            "  orders accepted/s in that run",
            *each(lambda run: f"{run['fixed_rate']['accepted_per_second']:,.1f}"),
            "",
        ),
        (
            "created → succeeded p50/p95/p99 ms",
            *each(lambda run: _latency(run["fixed_rate"]["created_to_succeeded"])),
            "",
        ),
        (
            "GET /v1/lookup requests/s",
            *each(lambda run: f"{run['lookup']['requests_per_second']:,}"),
            "≥ 4,000",
        ),
        (
            "  beside orders waiting on the supplier",
            *each(
                lambda run: (
                    f"{run['lookup_beside_orders']['requests_per_second']:,} "
                    f"({run['lookup_beside_orders']['orders_in_flight_peak']:,} in flight)"
                )
            ),
            "not slower",
        ),
        (
            "  p99 ms alone / beside orders",
            *each(
                lambda run: (
                    f"{run['lookup'].get('p99_ms', '?')} / "
                    f"{run['lookup_beside_orders'].get('p99_ms', '?')}"
                )
            ),
            "",
        ),
    ]


def _count_rows(figures: dict[str, Any]) -> list[tuple[str, ...]]:
    counted = figures["statements"]
    return [
        ("SQL statements per top-up (ours)", f"{counted['statements_per_topup']}", "", ""),
        (
            "  + on the sandbox's and simulator's tables",
            f"{counted['stand_in_statements_per_topup']}",
            "",
            "",
        ),
        ("  transactions per top-up", f"{counted['transactions_per_topup']}", "", ""),
        ("  round trips per top-up (all)", f"{counted['round_trips_per_topup']}", "", ""),
        ("pgbench TPC-B tps (-c 8 -j 2 -T 20, -s 10)", f"{figures['pgbench']['tps']:,.0f}", "", ""),
    ]


def _scale_rows(figures: dict[str, Any]) -> list[tuple[str, ...]]:
    if "scale" not in figures:
        return []
    small, large = figures["scale"]
    rows: list[tuple[str, ...]] = []
    for name, read in large["reads"].items():
        rows.append(
            (
                f"{name} p99 ms ({small['orders']:,} / {large['orders']:,} orders)",
                f"{small['reads'][name]['p99_ms']:.2f}",
                f"{read['p99_ms']:.2f}",
                "≤ 5, flat",
            )
        )
    return rows


def table(figures: dict[str, Any]) -> str:
    latencies = [f"supplier {run['supplier_latency_ms'] / 1000:g} s" for run in figures["runs"]]
    rows = [("figure", *latencies, "target")]
    rows += _service_rows(figures)
    rows += [("", "", "", "")]
    rows += _count_rows(figures)
    if "scale" in figures:
        rows += [("", "", "", ""), ("reads as the tables grow", "small", "large", "target")]
        rows += _scale_rows(figures)
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [f"Topup benchmark, {figures['date']}, on {figures['machine']}", ""]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return "\n".join(lines)
