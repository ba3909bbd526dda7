"""Who dies when: random SIGKILLs of the API or a worker, and deaths at every named
recovery point (each process works through its queue of points, armed with one at a time,
and kills itself when it passes it). A watcher restarts every process that died, at once.

After every start of the API that follows a death the sandbox clock moves on by the
Idempotency-Key lease: a request the dead process was handling keeps its key "in use"
for that lease, and a real client would wait it out (Retry-After, then again); the clock
move stands in for that wait, which is what the sandbox clock is for. The lease is
measured on that clock in an API process (topup.idempotency uses topup.kit.clock, and a
sandbox API process follows the stored offset), and fencing keeps a request that was only
slow from completing after a retry took its key over."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from scripts.chaos.processes import API, WORKERS, Fleet

# Reached by the API: the fast path of a fresh order, a wallet funding's request, and the
# payment of a refund support approved to the card (the approval pays it at once).
ORDER_POINTS = (
    "order.authorized_at_gateway",
    "order.authorized",
    "order.submitted",
    "order.sent",
)
FUNDING_POINTS = ("funding.authorized_at_gateway", "funding.captured_at_gateway")
REFUND_POINTS = ("refund.refunded_at_gateway",)
API_POINTS = ORDER_POINTS + FUNDING_POINTS + REFUND_POINTS
# Reached by a worker: a message handed to the provider, and (once the sandbox clock has
# passed a review's 20 hours) an expired review's hold voided at the gateway.
MESSAGE_POINTS = ("message.sent",)
# A worker settles every order the supplier answers later (0002, 0003, 0005).
SETTLE_POINTS = ("order.settled_at_gateway",)
REVIEW_POINTS = ("order.review_voided_at_gateway",)
# Each worker's queue: its stream point, then the review point (both arm it, for the first
# of them to void an expired review dies there), reached once the clock has moved a day.
WORKER_POINTS = {
    WORKERS[0]: MESSAGE_POINTS + REVIEW_POINTS,
    WORKERS[1]: SETTLE_POINTS + REVIEW_POINTS,
}
EVERY_POINT = API_POINTS + MESSAGE_POINTS + SETTLE_POINTS + REVIEW_POINTS
WATCH_SECONDS = 0.2


@dataclass
class KillRecord:
    random: Counter[str] = field(default_factory=Counter)  # by process name
    at_point: Counter[str] = field(default_factory=Counter)  # by recovery point
    missed_points: list[str] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)  # died on their own

    @property
    def total(self) -> int:
        return sum(self.random.values()) + sum(self.at_point.values())


class Killer:
    def __init__(
        self, fleet: Fleet, rng: random.Random, after_api_death: Callable[[], Awaitable[None]]
    ) -> None:
        self.fleet = fleet
        self.rng = rng
        self.after_api_death = after_api_death
        self.record = KillRecord()
        self._lock = asyncio.Lock()
        self._watching = True

    def queue(self) -> None:
        """Give every process its queue of points, before the first start."""
        self.fleet.processes[API].armed = list(API_POINTS)
        for name, points in WORKER_POINTS.items():
            self.fleet.processes[name].armed = list(points)

    def armed_now(self) -> set[str]:
        """The point each process is armed with at the moment."""
        return {process.armed[0] for process in self.fleet.processes.values() if process.armed}

    def killed_at(self, point: str) -> bool:
        return self.record.at_point[point] > 0

    async def disarm_all(self) -> None:
        """Restart clean every process still armed; what it never reached is missed."""
        async with self._lock:
            for name, process in self.fleet.processes.items():
                self._account_for(name)
                if process.armed:
                    missed = (point for point in process.armed if not self.killed_at(point))
                    self.record.missed_points.extend(missed)
                    await self._restart(name, armed=[])

    async def watch(self) -> None:
        """Restart whatever died, noting at which point (or that it died on its own)."""
        while self._watching:
            async with self._lock:
                for name, process in self.fleet.processes.items():
                    if process.exited() is not None:
                        self._account_for(name)
                        await self._restart(name)
            await asyncio.sleep(WATCH_SECONDS)

    def stop_watching(self) -> None:
        self._watching = False

    async def kill_randomly(self, count: int, interval: tuple[float, float]) -> None:
        names = [API, *WORKERS]
        for _ in range(count):
            await asyncio.sleep(self.rng.uniform(*interval))
            name = self.rng.choice(names)
            async with self._lock:
                self._account_for(name)
                self.record.random[name] += 1
                await self._restart(name)  # still armed with what it had left

    async def _restart(self, name: str, *, armed: list[str] | None = None) -> None:
        await self.fleet.restart(name, armed=armed)
        if name == API:
            await self.after_api_death()

    def _account_for(self, name: str) -> None:
        """Record a death the watcher has not seen yet, before the process is started
        again; a self-kill at a point takes it off the queue, so the next run is armed
        with the next point."""
        process = self.fleet.processes[name]
        code = process.exited()
        if code is None or process.popen is None:
            return
        point = process.point_of_death()
        if point is not None:
            self.record.at_point[point] += 1
            if process.armed and process.armed[0] == point:
                process.armed.pop(0)
        else:
            tail = process.log_path.read_text(errors="replace")[-2000:]
            self.record.unexpected_exits.append(f"{name} run {process.runs} exited {code}: {tail}")
        process.popen = None
