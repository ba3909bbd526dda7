"""The idempotency tests' database: a fresh one on each backend, with one customer."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from topup.accounts.models import Customer, CustomerStatus, Role
from topup.kit import clock
from topup.kit.db import create_session_factory, unit_of_work

Factory = async_sessionmaker[AsyncSession]


@pytest.fixture
async def factory(empty_engine: AsyncEngine) -> Factory:
    factory = create_session_factory(empty_engine)
    async with unit_of_work(factory) as session:
        session.add(
            Customer(
                id="cus_ada",
                status=CustomerStatus.active.value,
                role=Role.customer.value,
                language="en",
                created_at=clock.now(),
            )
        )
    return factory
