"""Percentiles, by the nearest-rank method (the value below which that share of samples
falls; no interpolation between two samples that were never measured)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(milliseconds: Sequence[float]) -> dict[str, float | int]:
    return {
        "samples": len(milliseconds),
        "p50_ms": round(percentile(milliseconds, 50), 2),
        "p95_ms": round(percentile(milliseconds, 95), 2),
        "p99_ms": round(percentile(milliseconds, 99), 2),
    }
