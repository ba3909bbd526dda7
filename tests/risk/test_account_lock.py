"""The lock a purchase takes on its account must not stop a worker writing for the same
account meanwhile. The chaos run found it did: the purchase held the account FOR UPDATE and
waited for the ledger's house accounts, while a worker held those and waited, through the
foreign key of the order's message (KEY SHARE), for the account: PostgreSQL's deadlock
detector killed one of them. A PostgreSQL test: SQLite has no row locks to cross."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.fixtures.databases import migrated_engine
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.accounts.repository import AccountRepository
from topup.kit import clock
from topup.kit.db import create_session_factory, unit_of_work
from topup.kit.ids import new_id
from topup.notifications.models import OutboundMessage

pytestmark = pytest.mark.postgres


async def test_a_purchase_holding_its_account_lets_a_worker_queue_a_message_for_it(
    postgres_url: str,
) -> None:
    engine = await migrated_engine(postgres_url)
    factory = create_session_factory(engine)
    try:
        customer_id = new_id("cus")
        async with unit_of_work(factory) as session:
            session.add(
                Customer(
                    id=customer_id,
                    first_name="Ada",
                    last_name="Obi",
                    status=CustomerStatus.active.value,
                    role=Role.customer.value,
                    language="en",
                    created_at=clock.now() - timedelta(days=1),
                )
            )
        async with factory() as purchase, factory() as worker:
            assert await AccountRepository(purchase).customer_for_purchase(customer_id)
            await worker.execute(text("SET LOCAL lock_timeout = '3s'"))
            worker.add(
                OutboundMessage(
                    id=new_id("msg"),
                    channel="email",
                    recipient="ada@example.com",
                    body="Your top-up arrived.",
                    kind="order_succeeded",
                    customer_id=customer_id,
                    status="pending",
                    attempts=0,
                    due_at=clock.now(),
                    created_at=clock.now(),
                )
            )
            await worker.flush()  # the foreign key's KEY SHARE lock: granted, not waited for
            await worker.rollback()
            await purchase.rollback()
    finally:
        await engine.dispose()
