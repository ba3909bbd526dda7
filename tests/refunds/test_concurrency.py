"""Requests and decisions racing each other: the money claimed on an order never exceeds
what was captured, and each request is decided and paid once. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy import func, select

from tests.refunds.conftest import (
    MakePerson,
    Person,
    ask,
    asked,
    assert_ledger_clean,
    delivered_order,
    refund_body,
    refused_by,
    stored_order,
    stored_requests,
    supplier_forgets,
)
from topup.accounts.models import Customer
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.ledger.models import JournalEntry
from topup.providers.payments.sandbox_models import SandboxRefund
from topup.refunds import service
from topup.refunds.policy import Destination
from topup.refunds.tasks import run_due
from topup.runtime import Runtime

AT_ONCE = 10


async def test_ten_requests_at_once_for_the_whole_price_store_exactly_one(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    body = refund_body(order["id"])

    answers = await asyncio.gather(*(ask(client, customer.headers, body) for _ in range(AT_ONCE)))

    outcomes = Counter(
        "created" if answer.status_code == 201 else refused_by(answer)[2] for answer in answers
    )
    assert outcomes == {"created": 1, "already_refunded": AT_ONCE - 1}
    stored = await stored_requests(runtime, order["id"])
    assert [request.amount for request in stored] == [order["price"]["amount"]]
    assert (await stored_order(runtime, order["id"])).refunded_amount == order["price"]["amount"]


async def test_requests_at_once_for_parts_of_the_price_never_claim_more_than_was_paid(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    paid: int = order["price"]["amount"]
    part = paid // 3 + 1  # two fit, a third does not

    answers = await asyncio.gather(
        *(ask(client, customer.headers, refund_body(order["id"], amount=part)) for _ in range(6))
    )

    assert sorted(answer.status_code for answer in answers) == [201, 201, 422, 422, 422, 422]
    for answer in answers:
        if answer.status_code != 201:
            assert refused_by(answer)[2] in {"already_refunded", "amount_above_refundable"}
    stored = await stored_requests(runtime, order["id"])
    claimed = sum(request.amount for request in stored)
    assert claimed == 2 * part <= paid
    assert (await stored_order(runtime, order["id"])).refunded_amount == claimed


async def test_support_agents_deciding_at_once_decide_once(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    agents = [await person("support") for _ in range(4)]
    order = await delivered_order(client, runtime, customer.headers)
    created = await asked(client, customer.headers, refund_body(order["id"]))
    path = f"/v1/admin/refund-requests/{created['id']}"

    answers = await asyncio.gather(
        *(
            client.post(f"{path}/approve", headers=agent.headers)
            if index % 2
            else client.post(f"{path}/reject", json={"reason": "No."}, headers=agent.headers)
            for index, agent in enumerate(agents)
        )
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409, 409, 409]
    [winner] = [answer.json() for answer in answers if answer.status_code == 200]
    await assert_decided_once(client, runtime, customer, order["id"], winner["status"])


async def test_a_person_and_the_supplier_check_deciding_at_once_decide_once(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    await supplier_forgets(runtime, order["id"])
    async with unit_of_work(runtime.session_factory) as session:
        owner = await session.get(Customer, customer.id)
        assert owner is not None
        request = await service.request_refund(
            session,
            owner,
            service.AskForRefund(order["id"], None, "service_failed", Destination.wallet),
            key=new_id("key"),
            calendar=runtime.business_calendar(),
        )

    _, rejected = await asyncio.gather(
        service.advance_refund(runtime.refund_deps(), request.id),
        client.post(
            f"/v1/admin/refund-requests/{request.id}/reject",
            json={"reason": "No."},
            headers=support.headers,
        ),
    )

    assert rejected.status_code in (200, 409)
    decision = "rejected" if rejected.status_code == 200 else "approved"
    await assert_decided_once(client, runtime, customer, order["id"], decision)


async def assert_decided_once(
    client: httpx.AsyncClient, runtime: Runtime, customer: Person, order_id: str, decision: str
) -> None:
    """The one decision stands: a rejection freed the claim and paid nothing; an approval
    kept the claim and is paid once."""
    await run_due(runtime.refund_deps())
    [request] = await stored_requests(runtime, order_id)
    claimed = (await stored_order(runtime, order_id)).refunded_amount
    balance = (await client.get("/v1/wallet", headers=customer.headers)).json()["balance"]
    if decision == "rejected":
        assert (request.status, claimed, balance["amount"]) == ("rejected", 0, 0)
    else:
        assert (request.status, claimed, balance["amount"]) == (
            "paid",
            request.amount,
            request.amount,
        )
    await assert_ledger_clean(runtime)


async def test_workers_paying_the_same_request_at_once_pay_it_once(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    await asked(client, customer.headers, refund_body(order["id"], destination="original_method"))
    [request] = await stored_requests(runtime, order["id"])
    async with unit_of_work(runtime.session_factory) as session:
        await service.approve(
            session, request.id, actor=support.id, calendar=runtime.business_calendar()
        )

    # Two worker rounds and the approval's own fast path, all at once.
    await asyncio.gather(
        run_due(runtime.refund_deps()),
        run_due(runtime.refund_deps()),
        service.advance_refund(runtime.refund_deps(), request.id),
    )

    [paid] = await stored_requests(runtime, order["id"])
    assert paid.status == "paid"
    async with runtime.session_factory() as session:
        refunds = await session.scalar(
            select(func.count())
            .select_from(SandboxRefund)
            .where(SandboxRefund.idempotency_key == f"{request.id}:refund")
        )
        entries = await session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.idempotency_key == f"{request.id}:paid")
        )
    assert (refunds, entries) == (1, 1)
    await assert_ledger_clean(runtime)
