"""The load generator, run as its own process so it never shares an interpreter with the
service it measures: ``python -m scripts.bench.load …`` prints its figures as JSON.

Two shapes of load on ``POST /v1/orders``, each order to a number never used before and
paid with the buyer's saved card under a fresh Idempotency-Key:

- ``closed``: a fixed number of clients, each sending its next order when the last one is
  answered; how many the service takes per second;
- ``open``: orders sent at a fixed rate whatever the answers do, each timed from the moment
  it was due to leave (so a slow answer delays no later measurement: no coordinated
  omission).

The client is aiohttp: the generator shares the machine's two cores with the service, and
httpx spent most of a core on a few hundred requests a second where aiohttp spends a
fraction of one. At most ``--connections`` requests are out at once; an order due while
all are busy waits its turn, and that wait counts in its latency. A service slower than
the offered rate falls ever further behind: what is still unanswered ``--grace`` seconds
after the last order was due is abandoned, counted, and timed up to that moment.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from scripts.bench.figures import latency_summary

PRODUCT = "ng-mtn-2500"  # MTN Nigeria, NGN 2,500: a typical fixed product


@dataclass(frozen=True)
class Recipients:
    """A range of ordinary numbers of one operator, and the product bought for them: the
    ``prefix``, then ``digits`` digits ending in 7, never one of the simulator's special
    cases (DESIGN §6)."""

    prefix: str
    digits: int
    product_id: str

    def number(self, counter: int) -> str:
        return f"{self.prefix}{counter * 10 + 7:0{self.digits}d}"

    def capacity(self) -> int:
        """How many distinct numbers the range holds."""
        return int(10 ** (self.digits - 1))


MTN_NIGERIA = Recipients("+234803", 7, PRODUCT)


def read_mix(path: Path) -> tuple[Recipients, ...]:
    return tuple(Recipients(**entry) for entry in json.loads(path.read_text(encoding="utf-8")))


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    abandoned: int = 0


@dataclass
class Orders:
    """Who buys the next order and for which number: buyers in turn, numbers all new, the
    ranges of the mix in turn."""

    buyers: list[dict[str, str]]
    first_number: int
    mix: tuple[Recipients, ...] = (MTN_NIGERIA,)
    sequence: itertools.count[int] = field(default_factory=itertools.count)

    def next_request(self) -> tuple[dict[str, str], dict[str, object]]:
        index = next(self.sequence)
        buyer = self.buyers[index % len(self.buyers)]
        headers = {
            "Authorization": f"Bearer {buyer['token']}",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        recipients = self.mix[(self.first_number + index) % len(self.mix)]
        counter = (self.first_number + index) // len(self.mix)
        if counter >= recipients.capacity():
            raise RuntimeError(f"the numbers of {recipients.prefix} are used up")
        body: dict[str, object] = {
            "recipient_phone": recipients.number(counter),
            "product_id": recipients.product_id,
            "payment": {"card_id": buyer["card_id"]},
        }
        return headers, body


async def _send(
    client: aiohttp.ClientSession,
    orders: Orders,
    tally: Tally,
    due: float,
    slots: asyncio.Semaphore,
) -> None:
    headers, body = orders.next_request()
    tally.sent += 1
    async with slots:
        try:
            async with client.post("/v1/orders", json=body, headers=headers) as response:
                answer = await response.json()
                tally.statuses[response.status] += 1
                if response.status >= 400:
                    tally.errors[answer.get("error", {}).get("code", "?")] += 1
        except (aiohttp.ClientError, TimeoutError) as error:
            tally.errors[type(error).__name__] += 1
            return
    tally.latencies_ms.append((time.perf_counter() - due) * 1000)


async def closed_loop(
    client: aiohttp.ClientSession, orders: Orders, seconds: float, clients: int
) -> Tally:
    tally = Tally()
    slots = asyncio.Semaphore(clients)
    stop_at = time.perf_counter() + seconds

    async def one_client() -> None:
        while time.perf_counter() < stop_at:
            await _send(client, orders, tally, time.perf_counter(), slots)

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return tally


async def open_loop(
    client: aiohttp.ClientSession,
    orders: Orders,
    seconds: float,
    rate: float,
    connections: int,
    grace: float,
) -> Tally:
    tally = Tally()
    slots = asyncio.Semaphore(connections)
    started = time.perf_counter()
    pending: dict[asyncio.Task[None], float] = {}
    for index in range(int(seconds * rate)):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending[asyncio.create_task(_send(client, orders, tally, due, slots))] = due
    _, unanswered = await asyncio.wait(pending, timeout=grace)
    given_up = time.perf_counter()
    for task in unanswered:
        task.cancel()
        tally.latencies_ms.append((given_up - pending[task]) * 1000)  # at least that long
    tally.abandoned = len(unanswered)
    return tally


def client_session(
    base_url: str, connections: int, timeout_seconds: float
) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=base_url,
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
    )


async def main(arguments: argparse.Namespace, buyers: list[dict[str, str]]) -> dict[str, object]:
    mix = read_mix(Path(arguments.mix)) if arguments.mix else (MTN_NIGERIA,)
    orders = Orders(buyers, arguments.first_number, mix)
    async with client_session(arguments.base_url, arguments.connections, 120) as client:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        if arguments.shape == "closed":
            tally = await closed_loop(client, orders, arguments.seconds, arguments.clients)
        else:
            tally = await open_loop(
                client,
                orders,
                arguments.seconds,
                arguments.rate,
                arguments.connections,
                arguments.grace,
            )
        elapsed = time.perf_counter() - started
    return {
        "shape": arguments.shape,
        "started_at": started_at.isoformat(),
        "ended_at": datetime.now(UTC).isoformat(),
        "seconds": round(elapsed, 2),
        "sent": tally.sent,
        "abandoned": tally.abandoned,
        "accepted": tally.statuses.get(201, 0),
        "accepted_per_second": round(tally.statuses.get(201, 0) / elapsed, 1),
        "statuses": {str(status): count for status, count in tally.statuses.items()},
        "errors": dict(tally.errors),
        "latency": latency_summary(tally.latencies_ms),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Topup benchmark load generator")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--buyers", required=True, help="a JSON file of {token, card_id}")
    parser.add_argument("--shape", choices=["closed", "open"], required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--grace", type=float, default=15)
    parser.add_argument("--first-number", type=int, default=0)
    parser.add_argument("--mix", help="a JSON file of recipient ranges; MTN Nigeria if none")
    parsed = parser.parse_args()
    buyers = json.loads(Path(parsed.buyers).read_text(encoding="utf-8"))
    json.dump(asyncio.run(main(parsed, buyers)), sys.stdout)
