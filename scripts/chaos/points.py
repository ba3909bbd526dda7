"""Traffic for the recovery point each process is armed with now. The random stream passes
most points by chance, but not surely within a bounded time: while a point waits, a probe
that passes it is sent once a second, so every point is reached and the run stays short.
A probe is an ordinary request of an ordinary customer, checked at the end like the rest."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx

from scripts.chaos import kills
from scripts.chaos.checks import FINAL
from scripts.chaos.stream import Customer, Operation, Planner, StreamRecord, launch

PROBE_INTERVAL_SECONDS = 1.0
ORDER_FINAL_WITHIN_SECONDS = 15.0
# An order charged on the customer's Visa and delivered at once passes every point of the
# API's fast path (and has its receipt sent by a worker); a wallet funding passes the
# funding points; an order the supplier answers "pending", then "succeeded", is settled
# by a worker.
PROBES = {
    **dict.fromkeys(kills.ORDER_POINTS, ("ok", "visa")),
    **dict.fromkeys(kills.FUNDING_POINTS, ("funding", "visa")),
    **dict.fromkeys(kills.MESSAGE_POINTS, ("ok", "visa")),
    **dict.fromkeys(kills.SETTLE_POINTS, ("0002", "visa")),
}
SMALL_PRODUCT = "ng-mtn-2500"
# EUR 79: from an account less than a day old, paid with a card of another country, the
# shipped rules hold it for review (new_account_big_order + card_country_mismatch).
BIG_PRODUCT = "ng-mtn-100000"


@dataclass
class Prober:
    http: httpx.AsyncClient
    planner: Planner
    record: StreamRecord
    killer: kills.Killer
    support: Customer  # a support user, who approves the refunds
    budget_seconds: float
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def run(self, points: set[str], seconds: float) -> None:
        """Probe while one of ``points`` is armed, for at most ``seconds``; one probe at a
        time per point, a second apart at least."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        probing: dict[str, asyncio.Task[None]] = {}
        while loop.time() < deadline and (armed := self.killer.armed_now() & points):
            for point in armed:
                if point not in probing or probing[point].done():
                    probing[point] = asyncio.create_task(self._probe(point))
                    self.tasks.append(probing[point])
            await asyncio.sleep(PROBE_INTERVAL_SECONDS)

    async def _probe(self, point: str) -> None:
        if point in kills.REFUND_POINTS:
            await self.refund_to_card()
            return
        outcome, paid_with = PROBES[point]
        await self._send(self.planner.operation(outcome, paid_with, product=SMALL_PRODUCT))

    async def review(self) -> None:
        """One order held for review: its expiry is the review point's traffic."""
        await self._send(self.planner.operation("ok", "visa", product=BIG_PRODUCT))

    async def refund_to_card(self) -> None:
        """README, "Refunds and their policies": a delivered top-up the customer says
        never arrived goes to support, who approves it to the card; the approval pays it
        at once (a worker pays it if that fails)."""
        order = self.planner.operation("ok", "visa", product=SMALL_PRODUCT)
        placed = await self._send(order)
        if placed is None or placed.status_code != 201:
            return
        order_id = placed.json()["id"]
        if await self._final_status(order.customer, order_id) != "succeeded":
            return
        body = {"order_id": order_id, "reason": "not_delivered", "destination": "original_method"}
        asked = await self._send(
            Operation(order.customer, "/v1/refund-requests", body, f"{order.key}-refund", "refund")
        )
        if asked is None or asked.status_code != 201:
            return
        path = f"/v1/admin/refund-requests/{asked.json()['id']}/approve"
        await self._send(Operation(self.support, path, {}, f"{order.key}-approve", "approval"))

    async def _send(self, operation: Operation) -> httpx.Response | None:
        return await launch(self.http, operation, self.record, self.budget_seconds)

    async def _final_status(self, customer: Customer, order_id: str) -> str | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ORDER_FINAL_WITHIN_SECONDS
        while loop.time() < deadline:
            try:
                answer = await self.http.get(f"/v1/orders/{order_id}", headers=customer.headers)
                if answer.status_code == 200 and answer.json()["status"] in FINAL:
                    return str(answer.json()["status"])
            except httpx.TransportError:
                pass  # the API is being restarted
            await asyncio.sleep(0.3)
        return None
