"""The soak's table: one row a minute, then the memory of each process and the verdicts."""

from __future__ import annotations

from typing import Any


def _latency(summary: dict[str, Any]) -> str:
    if not summary["samples"]:
        return "-"
    return f"{summary['p50_ms']:.0f} / {summary['p95_ms']:.0f} / {summary['p99_ms']:.0f}"


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]


def _minutes(figures: dict[str, Any]) -> list[str]:
    rows: list[tuple[str, ...]] = [
        (
            "min",
            "POST",
            "GET",
            "2xx",
            "4xx",
            "5xx",
            "errors",
            "POST p50/p95/p99 ms",
            "GET p50/p95/p99 ms",
            "succeeded",
            "created→succeeded p50/p99 ms",
            "RSS MiB",
            "DB MiB",
        )
    ]
    for window in figures["minutes"]:
        statuses = window["statuses"]
        settled = window["created_to_succeeded"]
        rows.append(
            (
                str(window["minute"]),
                str(window["sent"].get("post", 0)),
                str(window["sent"].get("get", 0)),
                str(statuses.get("2xx", 0)),
                str(statuses.get("4xx", 0)),
                str(statuses.get("5xx", 0)),
                str(sum(window["errors"].values())),
                _latency(window["post"]),
                _latency(window["get"]),
                str(window["succeeded"]),
                f"{settled['p50_ms']:.0f} / {settled['p99_ms']:.0f}" if settled["samples"] else "-",
                f"{window['rss_mib']:.0f}" if window["rss_mib"] is not None else "-",
                f"{window['database_mib']:.1f}" if window["database_mib"] is not None else "-",
            )
        )
    return _columns(rows)


def _memory(figures: dict[str, Any]) -> list[str]:
    rows: list[tuple[str, ...]] = [("process", "after warm-up MiB", "end MiB", "growth", "slope")]
    for label, memory in figures["memory"].items():
        if memory is None:
            rows.append((label, "-", "-", "-", "-"))
            continue
        rows.append(
            (
                label,
                f"{memory['baseline_mib']:.1f}",
                f"{memory['final_mib']:.1f}",
                f"{memory['growth_percent']:+.2f} %",
                f"{memory['slope_mib_per_minute']:+.3f} MiB/min",
            )
        )
    return _columns(rows)


def table(figures: dict[str, Any]) -> str:
    settings = figures["settings"]
    measured = figures.get("maximum")
    rate_line = (
        f"offered {settings['rate']:g} orders/s and {settings['reads_per_second']:g} reads/s"
    )
    if measured:
        rate_line += (
            f": half the {measured['completed_per_second']:g} completed top-ups/s of a "
            f"{measured['seconds']:g} s closed loop ({measured['clients']} clients)"
        )
    lines = [
        f"Topup soak, {figures['date']}, on {figures['machine']}",
        f"{settings['minutes']} minutes, {rate_line}, supplier latency "
        f"{settings['supplier_latency_ms']} ms, {settings['buyers']} buyers, "
        f"{len(figures['mix'])} recipient ranges",
        "",
        *_minutes(figures),
        "",
        *_memory(figures),
        "",
    ]
    for verdict in figures["verdicts"]:
        mark = {True: "PASS", False: "FAIL", None: "n/j "}[verdict["passed"]]
        lines.append(f"{mark}  {verdict['name']}: {verdict['detail']}")
    return "\n".join(lines)
