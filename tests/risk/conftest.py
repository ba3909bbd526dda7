"""A database of its own for each risk test, with the shipped catalogue and the shipped
risk rules: limits count every order in the database, so no other test may share it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.orders.conftest import Headers, card
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.accounts.sessions import issue_token
from topup.app import create_app
from topup.catalogue.schemas import CatalogueFile
from topup.catalogue.service import load_catalogue
from topup.config import Environment, Settings
from topup.kit import clock
from topup.kit.db import create_session_factory, unit_of_work
from topup.kit.ids import new_id
from topup.risk.rules import load_defaults
from topup.runtime import Runtime, build_runtime


@dataclass
class Risky:
    """An app on a fresh database with the default rules, and ways to use it."""

    http: httpx.AsyncClient
    runtime: Runtime

    async def buyer(self, **fields: Any) -> tuple[str, Headers]:
        """A verified customer (``fields`` override the defaults); (id, bearer headers)."""
        values: dict[str, Any] = {
            "id": new_id("cus"),
            "first_name": "Ada",
            "last_name": "Obi",
            "status": CustomerStatus.active.value,
            "role": Role.customer.value,
            "language": "en",
            "country_iso2": "US",  # like the sandbox's generic test cards
            "created_at": clock.now() - timedelta(days=30),  # not a brand-new account
            "phone_verified_at": clock.now(),
        } | fields
        async with unit_of_work(self.runtime.session_factory) as session:
            customer = Customer(**values)
            session.add(customer)
            await session.flush()
            issued = issue_token(session, self.runtime.accounts, customer)
        return values["id"], {"Authorization": f"Bearer {issued.token}"}

    async def order(
        self,
        headers: Headers,
        phone: str = "+2348031234567",
        product_id: str = "ng-mtn-2500",
        *,
        number: str = "4242424242424242",
        **extra: Any,
    ) -> httpx.Response:
        body = {"recipient_phone": phone, "product_id": product_id, "payment": card(number)}
        return await self.http.post(
            "/v1/orders",
            json=body | extra,
            headers=headers | {"Idempotency-Key": new_id("key")},
        )


@pytest.fixture
async def risky(
    empty_engine: AsyncEngine, shipped_catalogue: CatalogueFile
) -> AsyncIterator[Risky]:
    sessions = create_session_factory(empty_engine)
    async with unit_of_work(sessions) as session:
        await load_catalogue(session, shipped_catalogue)
        await load_defaults(session)
    local = Settings(
        env=Environment.test,
        database_url=empty_engine.url.render_as_string(hide_password=False),
        catalogue_cache_seconds=0.0,
        run_worker=False,  # the tests move orders themselves
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
    )
    runtime = build_runtime(local, empty_engine)
    app = create_app(local, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://topup.test") as http:
            yield Risky(http, runtime)
