"""The fast path runs detached from the request: POST /v1/orders answers, and the client's
connection is free, while the supplier is still delivering (a real one takes seconds)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.orders.conftest import Headers, order_body, place
from topup.app import create_app
from topup.config import Settings
from topup.providers.suppliers.base import TopupRequest, TopupResult
from topup.runtime import Runtime


class HeldSupplier:
    """The supplier, each top-up held until the test lets it go."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def send_topup(self, request: TopupRequest) -> TopupResult:
        self.reached.set()
        await self.release.wait()
        result: TopupResult = await self._inner.send_topup(request)
        return result


async def test_the_answer_and_the_next_request_do_not_wait_for_the_delivery(
    settings: Settings, runtime: Runtime, buyer: Callable[..., Awaitable[Headers]]
) -> None:
    supplier = HeldSupplier(runtime.supplier)
    held = dataclasses.replace(runtime, supplier=supplier)
    app = create_app(settings, held)
    headers = await buyer()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)  # answers as soon as the app has answered
        async with httpx.AsyncClient(transport=transport, base_url="http://topup.test") as http:
            async with asyncio.timeout(10):
                placed = await place(http, headers, order_body())
                await supplier.reached.wait()  # the delivery is under way, and held
                meanwhile = await http.get(f"/v1/orders/{placed.json()['id']}", headers=headers)

            assert placed.status_code == 201
            assert meanwhile.json()["status"] == "submitted"

            supplier.release.set()
            async with asyncio.timeout(10):
                await held.detached.settle()
            after = await http.get(f"/v1/orders/{placed.json()['id']}", headers=headers)
            assert after.json()["status"] == "succeeded"
