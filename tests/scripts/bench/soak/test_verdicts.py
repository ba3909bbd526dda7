"""The soak's verdict arithmetic: the slope, the memory and p99 flatness, the counts."""

from __future__ import annotations

import math

import pytest

from scripts.bench.soak import verdicts


def test_slope_is_the_least_squares_line() -> None:
    assert verdicts.slope([(0, 1), (1, 3), (2, 5)]) == pytest.approx(2)
    # Noise around a flat line: the line through it is flat.
    assert verdicts.slope([(0, 10), (1, 12), (2, 8), (3, 10)]) == pytest.approx(-0.4)


def test_slope_needs_two_distinct_points() -> None:
    assert math.isnan(verdicts.slope([(1, 5), (1, 7)]))
    assert math.isnan(verdicts.slope([]))


def test_memory_compares_the_first_sample_past_the_warm_up_with_the_last() -> None:
    # 100 MiB during the warm-up's growth, then 200 MiB growing 2 MiB a minute.
    samples = [(0.0, 100 * 1024), *((60.0 * m, (200 + 2 * (m - 1)) * 1024) for m in range(1, 6))]
    memory = verdicts.memory_of(samples, warm_up_seconds=60)
    assert memory is not None
    assert (memory.baseline_mib, memory.final_mib) == (200, 208)
    assert memory.growth_percent == pytest.approx(4)
    assert memory.slope_mib_per_minute == pytest.approx(2)


def test_memory_is_not_judged_without_a_minute_past_the_warm_up() -> None:
    assert verdicts.memory_of([(0.0, 1024), (70.0, 1024), (110.0, 2048)], 60) is None
    verdict = verdicts.memory_flat({"worker": None}, 10)
    assert verdict.passed is None


def test_memory_flat_fails_on_the_worst_process() -> None:
    flat = verdicts.Memory(100, 101, 1, 0.1)
    leaking = verdicts.Memory(100, 125, 25, 2.5)
    verdict = verdicts.memory_flat({"api 1": flat, "worker": leaking}, 10)
    assert verdict.passed is False
    assert "worker +25.0 %" in verdict.detail
    assert verdicts.memory_flat({"api 1": flat}, 10).passed is True


def test_p99_compares_the_last_third_with_the_first_after_the_warm_up() -> None:
    warm_up = [5000.0] * 100  # slow while warming: left out
    steady = [float(ms) for ms in range(1, 101)]  # p99 99 ms
    slower = [ms * 3 for ms in steady]  # p99 297 ms
    # Six minutes past the warm-up: the first two against the last two.
    verdict, first, last = verdicts.p99_flat(
        [warm_up, steady, steady, steady, steady, slower, slower], 1, 2.0, "POST"
    )
    assert (first, last) == (99, 297)
    assert verdict.passed is False
    verdict, _, _ = verdicts.p99_flat([warm_up, steady, steady, slower], 1, 3.0, "POST")
    assert verdict.passed is True


def test_p99_is_not_judged_with_one_minute_past_the_warm_up() -> None:
    verdict, _, _ = verdicts.p99_flat([[1.0], [2.0]], 1, 2.0, "POST")
    assert verdict.passed is None


def test_errors_and_answers_outside_2xx_fail() -> None:
    assert verdicts.errors({}).passed is True
    failed = verdicts.errors({"abandoned": 1, "HTTP 503": 2})
    assert failed.passed is False
    assert failed.detail == "3 errors (HTTP 503 2, abandoned 1)"
    assert verdicts.only_2xx({"2xx": 10}).passed is True
    assert verdicts.only_2xx({"2xx": 10, "4xx": 1}).passed is False


def test_every_placed_order_must_be_found_at_an_end() -> None:
    statuses = {"ord_1": "succeeded", "ord_2": "failed", "ord_3": "pending"}
    assert verdicts.all_final(["ord_1", "ord_2"], statuses).passed is True
    assert verdicts.all_final(["ord_1", "ord_3"], statuses).passed is False
    assert verdicts.all_final(["ord_1", "ord_9"], statuses).passed is False
    assert verdicts.all_final([], statuses).passed is False
    assert verdicts.all_succeeded(["ord_1"], statuses).passed is True
    assert verdicts.all_succeeded(["ord_1", "ord_2"], statuses).passed is False


def test_only_a_failed_verdict_fails_the_run() -> None:
    judged = [
        verdicts.Verdict("a", True, ""),
        verdicts.Verdict("b", None, ""),
        verdicts.Verdict("c", False, ""),
    ]
    assert [verdict.name for verdict in verdicts.failed(judged)] == ["c"]
    assert verdicts.ledger(1, "breach: x\n").passed is False
    assert verdicts.ledger(0, "Ledger check passed\n").detail == "Ledger check passed"
