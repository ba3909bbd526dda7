"""The soak's load, run as its own process like ``scripts.bench.load``: orders at a fixed
rate and reads beside them, open loop, for whole minutes, counted minute by minute.

- ``POST /v1/orders``: the buyers in turn, each order to a new number of the recipient
  mix under its own Idempotency-Key;
- reads, at their own fixed rate, in turn: an order this run placed lately
  (``GET /v1/orders/{id}`` as its buyer), a buyer's "My purchases" (``GET /v1/orders``),
  and a number of the mix (``GET /v1/lookup``).

Each request is timed from the moment it was due and counted in the minute it was due in
(so a slow answer hides no later one: no coordinated omission). A request that fails in
transport, times out, or is still unanswered ``--grace`` seconds after the last one was due
is an error of its minute. Usage: ``python -m scripts.bench.soak.load --output FILE …``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from scripts.bench.figures import latency_summary
from scripts.bench.load import Orders, client_session, read_mix

RECENT_ORDERS = 200  # an order read back is one of the last placed: what a buyer checks
PAGE = 20


@dataclass
class Window:
    """What one minute's due requests got."""

    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)  # by class: 2xx, 4xx, 5xx
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {"post": [], "get": []})

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": dict(self.sent),
            "statuses": dict(self.statuses),
            "errors": dict(self.errors),
            "post": latency_summary(self.latencies_ms["post"]),
            "get": latency_summary(self.latencies_ms["get"]),
            "latencies_ms": self.latencies_ms,
        }


class Soak:
    def __init__(self, client: aiohttp.ClientSession, orders: Orders, arguments: Any) -> None:
        self.client = client
        self.orders = orders
        self.buyers = orders.buyers
        self.started = time.perf_counter()
        self.window_seconds: float = arguments.window_seconds
        self.windows = [Window() for _ in range(arguments.minutes)]
        self.slots = asyncio.Semaphore(arguments.connections)
        self.placed: list[tuple[str, str]] = []  # (order id, its buyer's Authorization)
        self.pending: dict[asyncio.Task[None], tuple[str, float]] = {}
        self.choice = random.Random(20240615)
        self.reads = itertools.cycle((self._order, self._purchases, self._lookup))

    def window(self, due: float) -> Window:
        index = int((due - self.started) // self.window_seconds)
        return self.windows[min(index, len(self.windows) - 1)]

    async def _timed(
        self, kind: str, due: float, method: str, path: str, headers: dict[str, str], **body: Any
    ) -> Any:
        """The answer's JSON when it is a 2xx, else None; counted either way."""
        window = self.window(due)
        window.sent[kind] += 1
        answer = None
        async with self.slots:
            try:
                async with self.client.request(method, path, headers=headers, **body) as response:
                    answer = await response.json()
                    window.statuses[f"{response.status // 100}xx"] += 1
                    if response.status >= 500:
                        window.errors[f"HTTP {response.status}"] += 1
                    if response.status >= 300:
                        answer = None
            except (aiohttp.ClientError, TimeoutError) as error:
                window.errors[type(error).__name__] += 1
        window.latencies_ms[kind].append((time.perf_counter() - due) * 1000)
        return answer

    async def place(self, due: float) -> None:
        headers, body = self.orders.next_request()
        answer = await self._timed("post", due, "POST", "/v1/orders", headers, json=body)
        if answer is not None:
            self.placed.append((answer["id"], headers["Authorization"]))

    async def read(self, due: float) -> None:
        await next(self.reads)(due)

    async def _order(self, due: float) -> None:
        if not self.placed:
            await self._lookup(due)
            return
        order, authorization = self.choice.choice(self.placed[-RECENT_ORDERS:])
        headers = {"Authorization": authorization}
        await self._timed("get", due, "GET", f"/v1/orders/{order}", headers)

    async def _purchases(self, due: float) -> None:
        headers = {"Authorization": f"Bearer {self.choice.choice(self.buyers)['token']}"}
        await self._timed("get", due, "GET", f"/v1/orders?limit={PAGE}", headers)

    async def _lookup(self, due: float) -> None:
        recipients = self.choice.choice(self.orders.mix)
        number = recipients.number(self.choice.randrange(recipients.capacity()))
        await self._timed("get", due, "GET", f"/v1/lookup?phone={quote(number)}", {})

    async def stream(
        self, kind: str, rate: float, action: Callable[[float], Coroutine[Any, Any, None]]
    ) -> None:
        """``action`` at ``rate`` a second for the whole soak, each due on its own time."""
        for index in range(int(len(self.windows) * self.window_seconds * rate)):
            due = self.started + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.pending[asyncio.create_task(action(due))] = (kind, due)

    async def finish(self, grace: float) -> None:
        """Waits for the answers still due; what is unanswered after ``grace`` is abandoned,
        an error of its minute, timed up to that moment."""
        _, unanswered = await asyncio.wait(self.pending, timeout=grace)
        given_up = time.perf_counter()
        for task in unanswered:
            task.cancel()
            kind, due = self.pending[task]
            self.window(due).errors["abandoned"] += 1
            self.window(due).latencies_ms[kind].append((given_up - due) * 1000)


async def main(arguments: argparse.Namespace, orders: Orders) -> dict[str, Any]:
    reads_per_second = arguments.rate * arguments.reads_per_order
    started_at = datetime.now(UTC)
    async with client_session(
        arguments.base_url, arguments.connections, arguments.timeout
    ) as client:
        soak = Soak(client, orders, arguments)
        streams = [soak.stream("post", arguments.rate, soak.place)]
        if reads_per_second > 0:
            streams.append(soak.stream("get", reads_per_second, soak.read))
        await asyncio.gather(*streams)
        await soak.finish(arguments.grace)
    return {
        "started_at": started_at.isoformat(),
        "ended_at": datetime.now(UTC).isoformat(),
        "seconds": round(time.perf_counter() - soak.started, 2),
        "rate": arguments.rate,
        "reads_per_second": reads_per_second,
        "window_seconds": arguments.window_seconds,
        "windows": [window.as_dict() for window in soak.windows],
        "placed": [order for order, _ in soak.placed],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Topup soak load generator")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--buyers", required=True, help="a JSON file of {token, card_id}")
    parser.add_argument("--mix", required=True, help="a JSON file of recipient ranges")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--window-seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, required=True, help="orders a second")
    parser.add_argument("--reads-per-order", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=30, help="seconds before an error")
    parser.add_argument("--grace", type=float, default=15)
    parser.add_argument("--first-number", type=int, default=0)
    parsed = parser.parse_args()
    buyers = json.loads(Path(parsed.buyers).read_text(encoding="utf-8"))
    orders = Orders(buyers, parsed.first_number, read_mix(Path(parsed.mix)))
    result = asyncio.run(main(parsed, orders))
    parsed.output.write_text(json.dumps(result), encoding="utf-8")
