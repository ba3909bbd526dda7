"""Who dies when: random SIGKILLs of the API or a worker, and deaths at every named
recovery point (a process restarted armed with the points not yet reached kills itself at
the first one it passes). A watcher restarts every process that died, at once."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field

from scripts.chaos.processes import API, WORKERS, Fleet

# Reached by the API: the fast path of a fresh order, and a wallet funding's request.
ORDER_POINTS = (
    "order.authorized_at_gateway",
    "order.authorized",
    "order.submitted",
    "order.sent",
)
FUNDING_POINTS = ("funding.authorized_at_gateway", "funding.captured_at_gateway")
# Reached by a worker: a message handed to the provider, and (once the sandbox clock has
# passed a review's 20 hours) an expired review's hold voided at the gateway.
MESSAGE_POINTS = ("message.sent",)
# A worker settles every order the supplier answers later (0002, 0003, 0005).
SETTLE_POINTS = ("order.settled_at_gateway",)
REVIEW_POINTS = ("order.review_voided_at_gateway",)
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
    def __init__(self, fleet: Fleet, rng: random.Random) -> None:
        self.fleet = fleet
        self.rng = rng
        self.record = KillRecord()
        self._lock = asyncio.Lock()
        self._watching = True

    def armed_points(self) -> set[str]:
        return {point for process in self.fleet.processes.values() for point in process.armed}

    async def arm(self, name: str, points: tuple[str, ...]) -> None:
        async with self._lock:
            self._account_for(name)
            await self.fleet.restart(name, armed=list(points))

    async def disarm_all(self) -> None:
        """Restart clean every process still armed; what it never reached is missed."""
        async with self._lock:
            for name, process in self.fleet.processes.items():
                self._account_for(name)
                if process.armed:
                    self.record.missed_points.extend(process.armed)
                    await self.fleet.restart(name, armed=[])

    async def watch(self) -> None:
        """Restart whatever died, noting at which point (or that it died on its own)."""
        while self._watching:
            async with self._lock:
                for name, process in self.fleet.processes.items():
                    if process.exited() is not None:
                        self._account_for(name)
                        await self.fleet.start(name)
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
                await self.fleet.restart(name)  # still armed with what it had left

    def _account_for(self, name: str) -> None:
        """Record a death the watcher has not seen yet, before the process is started
        again; a self-kill at a point disarms that point for the next run."""
        process = self.fleet.processes[name]
        code = process.exited()
        if code is None or process.popen is None:
            return
        point = process.point_of_death()
        if point is not None:
            self.record.at_point[point] += 1
            if point in process.armed:
                process.armed.remove(point)
        else:
            tail = process.log_path.read_text(errors="replace")[-2000:]
            self.record.unexpected_exits.append(f"{name} run {process.runs} exited {code}: {tail}")
        process.popen = None
