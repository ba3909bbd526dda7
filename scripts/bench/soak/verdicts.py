"""The soak's verdicts, computed from what it measured: no errors, memory flat, p99 flat,
every order placed at an end. Each verdict passes, fails, or is not judged (None) when the
run was too short to say, and says which figures it compared."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scripts.bench.figures import percentile

FINAL = ("succeeded", "failed", "declined", "rejected")
KIB_PER_MIB = 1024


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool | None  # None: the run was too short to judge
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


def slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of y over x; NaN with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return math.nan
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return covariance / variance


def errors(counted: Mapping[str, int]) -> Verdict:
    """Every 5xx, transport error and abandoned request is an error; there must be none."""
    total = sum(counted.values())
    detail = ", ".join(f"{name} {count}" for name, count in sorted(counted.items()))
    return Verdict("errors == 0", total == 0, f"{total} errors ({detail or 'none'})")


def only_2xx(statuses: Mapping[str, int]) -> Verdict:
    """Every request of the soak is valid, so any 4xx means something refused it."""
    refused = sum(count for status, count in statuses.items() if status != "2xx")
    return Verdict("every answer 2xx", refused == 0, f"{refused} answers outside 2xx")


@dataclass(frozen=True)
class Memory:
    """One process's resident memory over the run, after the warm-up."""

    baseline_mib: float
    final_mib: float
    growth_percent: float
    slope_mib_per_minute: float

    def as_dict(self) -> dict[str, float]:
        return {
            "baseline_mib": round(self.baseline_mib, 1),
            "final_mib": round(self.final_mib, 1),
            "growth_percent": round(self.growth_percent, 2),
            "slope_mib_per_minute": round(self.slope_mib_per_minute, 3),
        }


def memory_of(samples: Sequence[tuple[float, int]], warm_up_seconds: float) -> Memory | None:
    """From (seconds into the soak, RSS in KiB) samples: the first one past the warm-up
    against the last, and the slope over all past the warm-up; None without a minute of
    samples after the warm-up."""
    measured = [(seconds, kib) for seconds, kib in samples if seconds >= warm_up_seconds]
    if len(measured) < 2 or measured[-1][0] - measured[0][0] < 60:
        return None
    baseline, final = measured[0][1] / KIB_PER_MIB, measured[-1][1] / KIB_PER_MIB
    return Memory(
        baseline,
        final,
        (final - baseline) / baseline * 100,
        slope([(seconds / 60, kib / KIB_PER_MIB) for seconds, kib in measured]),
    )


def memory_flat(memories: Mapping[str, Memory | None], bound_percent: float) -> Verdict:
    name = f"RSS growth after the warm-up ≤ {bound_percent:g} % in every Topup process"
    if not memories or any(memory is None for memory in memories.values()):
        return Verdict(name, None, "not judged: needs a minute of samples after the warm-up")
    grown = {label: memory.growth_percent for label, memory in memories.items() if memory}
    worst = max(grown, key=lambda label: grown[label])
    return Verdict(
        name,
        grown[worst] <= bound_percent,
        f"the most: {worst} {grown[worst]:+.1f} %",
    )


def same_processes(changes: Sequence[str]) -> Verdict:
    """A Topup process that stopped or was replaced during the soak is a failure too."""
    return Verdict(
        "no Topup process stopped or restarted",
        not changes,
        "; ".join(changes) if changes else "the same processes from start to end",
    )


def p99_flat(
    windows_ms: Sequence[Sequence[float]], warm_up_windows: int, factor: float, what: str
) -> tuple[Verdict, float, float]:
    """The p99 of the last third of the minutes after the warm-up against the first third's
    (at least one minute each): the last must stay within ``factor`` times the first."""
    name = f"{what} p99 flat (last ≤ {factor:g} × first)"
    measured = list(windows_ms[warm_up_windows:])
    if len(measured) < 2:
        return Verdict(name, None, "not judged: needs two minutes after the warm-up"), 0, 0
    part = max(1, len(measured) // 3)
    first = percentile([ms for window in measured[:part] for ms in window], 99)
    last = percentile([ms for window in measured[-part:] for ms in window], 99)
    if math.isnan(first) or math.isnan(last):
        return Verdict(name, None, "not judged: no answers to time"), first, last
    detail = f"first {part} min {first:.1f} ms, last {part} min {last:.1f} ms"
    return Verdict(name, last <= factor * first, detail), first, last


def all_final(placed: Sequence[str], statuses: Mapping[str, str]) -> Verdict:
    """Every order the soak placed is in the database, at an end (``statuses`` maps the
    order ids found to their status)."""
    missing = [order for order in placed if order not in statuses]
    waiting = [order for order in placed if statuses.get(order, "succeeded") not in FINAL]
    return Verdict(
        "every order placed reached a final state",
        bool(placed) and not missing and not waiting,
        f"{len(placed)} placed, {len(missing)} not found, {len(waiting)} not at an end",
    )


def all_succeeded(placed: Sequence[str], statuses: Mapping[str, str]) -> Verdict:
    """Ordinary recipients and good cards: anything but succeeded is a failure."""
    other = [order for order in placed if statuses.get(order) != "succeeded"]
    return Verdict("every order succeeded", not other, f"{len(other)} did not")


def ledger(exit_code: int, output: str) -> Verdict:
    last_line = output.strip().splitlines()[-1] if output.strip() else ""
    return Verdict("topup ledger check passes", exit_code == 0, last_line or f"exit {exit_code}")


def failed(verdicts: Sequence[Verdict]) -> list[Verdict]:
    return [verdict for verdict in verdicts if verdict.passed is False]
