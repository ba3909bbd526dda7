"""Crashes at every step, and workers racing: each order ends once, captured iff delivered,
never delivered or charged twice, and the ledger check stays clean. On both databases."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from tests.orders.support import (
    Crash,
    CrashBefore,
    CrashOnce,
    assert_exactly_once,
    new_order,
    run_to_the_end,
)
from topup.kit import clock, faults
from topup.orders import ledger_entries
from topup.orders.lifecycle import advance
from topup.orders.tasks import LEASE, run_due
from topup.runtime import Runtime

# Each scenario with every remote call it makes; a crash follows each call in turn.
SCENARIOS = {
    "+2348031234567": ("succeeded", ["authorize", "send_topup", "capture"]),
    "+2348031230001": ("failed", ["authorize", "send_topup", "void"]),
    "+2348031230002": ("succeeded", ["authorize", "send_topup", "status", "capture"]),
    "+2348031230003": ("failed", ["authorize", "send_topup", "status", "void"]),
    "+2348031230005": ("succeeded", ["authorize", "status", "capture"]),
}
CASES = [
    (phone, point, outcome) for phone, (outcome, points) in SCENARIOS.items() for point in points
]
GATEWAY_CALLS = {"authorize", "capture", "void"}


@pytest.mark.parametrize(
    ("phone", "point", "outcome"), CASES, ids=[f"{phone[-4:]}-{point}" for phone, point, _ in CASES]
)
async def test_a_crash_after_any_remote_call_changes_nothing_in_the_end(
    runtime: Runtime, phone: str, point: str, outcome: str
) -> None:
    order_id = await new_order(runtime, phone)
    base = runtime.order_deps()
    if point in GATEWAY_CALLS:
        crashing = CrashOnce(base.gateway, point)
        deps = replace(base, gateway=crashing)
    else:
        crashing = CrashOnce(base.supplier, point)
        deps = replace(base, supplier=crashing)
    await run_to_the_end(runtime, deps, order_id)
    assert crashing.crashed  # the crash really happened where it was meant to
    assert await assert_exactly_once(runtime, order_id) == outcome


@pytest.mark.parametrize("phone", ["+2348031234567", "+2348031230001"])
async def test_a_crash_between_marking_submitted_and_sending_sends_once(
    runtime: Runtime, phone: str
) -> None:
    """The order is marked submitted, then the process dies before the top-up goes out:
    the poll finds nothing at the supplier and sends it then, once."""
    order_id = await new_order(runtime, phone)
    base = runtime.order_deps()
    await advance(base, order_id)  # authorized
    crashing = CrashBefore(base.supplier, "send_topup")
    await run_to_the_end(runtime, replace(base, supplier=crashing), order_id)
    assert crashing.crashed
    await assert_exactly_once(runtime, order_id)


@pytest.mark.parametrize("entry", ["hold", "capture", "release"])
async def test_a_crash_while_writing_the_ledger_rolls_the_step_back(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    phone = "+2348031230001" if entry == "release" else "+2348031234567"
    order_id = await new_order(runtime, phone)
    real = getattr(ledger_entries, entry)
    crashed = False

    async def write_then_crash(*args: Any, **kwargs: Any) -> Any:
        nonlocal crashed
        result = await real(*args, **kwargs)
        if not crashed:
            crashed = True
            raise Crash(entry)  # inside the step's transaction: nothing of it commits
        return result

    monkeypatch.setattr(ledger_entries, entry, write_then_crash)
    await run_to_the_end(runtime, runtime.order_deps(), order_id)
    assert crashed
    await assert_exactly_once(runtime, order_id)


async def test_two_workers_racing_handle_each_order_once(runtime: Runtime) -> None:
    endings = ["4567", "0001", "0002", "0003", "0005"] * 4
    order_ids = [await new_order(runtime, f"+234803123{ending}") for ending in endings]
    for _ in range(12):
        await asyncio.gather(run_due(runtime.order_deps()), run_due(runtime.order_deps()))
        clock.advance(LEASE.total_seconds() + 1)
    for order_id in order_ids:
        await assert_exactly_once(runtime, order_id)


RECOVERY_POINTS = [
    "order.authorized_at_gateway",
    "order.authorized",
    "order.submitted",
    "order.sent",
    "order.settled_at_gateway",
]


@pytest.mark.parametrize("point", RECOVERY_POINTS)
@pytest.mark.parametrize(
    ("phone", "outcome"),
    [
        ("+2348031234567", "succeeded"),
        ("+2348031230001", "failed"),
        ("+2348031230002", "succeeded"),
    ],
)
async def test_a_crash_at_each_named_recovery_point_is_resumed_by_a_fresh_worker(
    runtime: Runtime, point: str, phone: str, outcome: str
) -> None:
    order_id = await new_order(runtime, phone)
    faults.arm(point)
    crashed = False
    for _ in range(10):
        try:
            await advance(runtime.order_deps(), order_id)
        except faults.InjectedCrash:
            crashed = True
            break
        clock.advance(60)
    assert crashed, f"the order never passed {point}"
    for _ in range(10):  # a fresh worker, once the dead one's lease has run out
        clock.advance(LEASE.total_seconds() + 1)
        await run_due(runtime.order_deps())
    assert await assert_exactly_once(runtime, order_id) == outcome
