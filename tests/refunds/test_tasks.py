"""The worker's part: automatic reasons checked with the supplier, approved requests paid,
and a crash between the gateway refund and its record paying nothing twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.orders.support import Crash, CrashOnce
from tests.refunds.conftest import (
    MakePerson,
    Person,
    asked,
    assert_ledger_clean,
    delivered_order,
    refund_body,
    stored_requests,
    supplier_forgets,
)
from topup.kit import clock, faults
from topup.kit.db import unit_of_work
from topup.ledger.models import JournalEntry
from topup.providers.payments.sandbox_models import SandboxRefund
from topup.providers.suppliers.base import SupplierUnavailable, TopupResult
from topup.providers.suppliers.simulator_models import SimulatedTopup
from topup.refunds import service
from topup.refunds.models import RefundRequest
from topup.refunds.tasks import LEASE, run_due
from topup.runtime import Runtime


async def supplier_reports_failed(runtime: Runtime, order_id: str) -> None:
    """The supplier reversed the top-up after the fact: its status answers failed."""
    async with unit_of_work(runtime.session_factory) as session:
        await session.execute(
            update(SimulatedTopup)
            .where(SimulatedTopup.reference == order_id)
            .values(status="failed")
        )


async def the_request(runtime: Runtime, order_id: str) -> RefundRequest:
    [request] = await stored_requests(runtime, order_id)
    return request


async def wallet_balance(client: httpx.AsyncClient, customer: Person) -> int:
    balance: int = (await client.get("/v1/wallet", headers=customer.headers)).json()["balance"][
        "amount"
    ]
    return balance


async def count_rows(runtime: Runtime, model: Any, *conditions: Any) -> int:
    async with runtime.session_factory() as session:
        found = await session.scalar(select(func.count()).select_from(model).where(*conditions))
    assert found is not None
    return found


async def test_a_failure_the_supplier_confirms_is_approved_by_the_system_and_paid_by_the_worker(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    await supplier_reports_failed(runtime, order["id"])

    created = await asked(
        client, customer.headers, refund_body(order["id"], reason="service_failed")
    )

    assert (created["status"], created["approval"]) == ("requested", "automatic")
    checked = await the_request(runtime, order["id"])  # checked as the request was answered
    assert (checked.status, checked.decided_by) == ("approved", "system")
    assert checked.decision_reason is not None
    assert checked.pay_by is not None

    await run_due(runtime.refund_deps())

    paid = await the_request(runtime, order["id"])
    assert paid.status == "paid"
    assert await wallet_balance(client, customer) == order["price"]["amount"]
    await assert_ledger_clean(runtime)


async def test_a_failure_the_supplier_denies_goes_to_support(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)

    await asked(client, customer.headers, refund_body(order["id"], reason="service_failed"))
    await run_due(runtime.refund_deps())
    clock.advance(3600)
    await run_due(runtime.refund_deps())

    request = await the_request(runtime, order["id"])
    assert (request.status, request.approval, request.due_at) == ("requested", "manual", None)
    assert request.decided_by is None
    assert request.decision_reason is not None
    assert "delivered" in request.decision_reason
    assert await wallet_balance(client, customer) == 0


async def test_a_top_up_the_supplier_no_longer_knows_goes_to_support_not_paid(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    """Only captured orders are refunded, and the supplier once reported each delivered:
    its forgetting the reference later proves no failure, so a person decides."""
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    await supplier_forgets(runtime, order["id"])

    await asked(client, customer.headers, refund_body(order["id"], reason="service_failed"))
    await run_due(runtime.refund_deps())

    request = await the_request(runtime, order["id"])
    assert (request.status, request.approval, request.due_at) == ("requested", "manual", None)
    assert request.decision_reason is not None
    assert "no longer knows" in request.decision_reason
    assert await wallet_balance(client, customer) == 0


class SupplierAway:
    """A supplier that does not answer status checks."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def status(self, reference: str) -> TopupResult:
        raise SupplierUnavailable("no answer")


async def test_an_automatic_check_the_supplier_does_not_answer_is_asked_again_later(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    await supplier_reports_failed(runtime, order["id"])
    real = runtime.supplier
    runtime.supplier = SupplierAway(real)

    await asked(client, customer.headers, refund_body(order["id"], reason="service_failed"))

    waiting = await the_request(runtime, order["id"])
    assert (waiting.status, waiting.approval) == ("requested", "automatic")
    assert waiting.due_at is not None
    assert waiting.due_at > clock.now() + timedelta(minutes=4)
    runtime.supplier = real
    await run_due(runtime.refund_deps())  # not due yet
    assert (await the_request(runtime, order["id"])).status == "requested"

    clock.advance(service.RETRY_CHECK.total_seconds() + 1)
    await run_due(runtime.refund_deps())  # the supplier answers: approved
    await run_due(runtime.refund_deps())  # and paid

    assert (await the_request(runtime, order["id"])).status == "paid"
    await assert_ledger_clean(runtime)


async def approved_to_card(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> RefundRequest:
    """A request for the whole price back to the card, approved, not yet paid."""
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    await asked(client, customer.headers, refund_body(order["id"], destination="original_method"))
    request = await the_request(runtime, order["id"])
    async with unit_of_work(runtime.session_factory) as session:
        await service.approve(
            session, request.id, actor=support.id, calendar=runtime.business_calendar()
        )
    return request


async def assert_paid_once(runtime: Runtime, request: RefundRequest) -> None:
    stored = await the_request(runtime, request.order_id)
    assert stored.status == "paid"
    refunds = await count_rows(
        runtime, SandboxRefund, SandboxRefund.idempotency_key == f"{request.id}:refund"
    )
    entries = await count_rows(
        runtime,
        JournalEntry,
        JournalEntry.kind == "refund",
        JournalEntry.reference == request.order_id,
    )
    assert (refunds, entries) == (1, 1)
    async with runtime.session_factory() as session:
        [row] = (
            await session.scalars(
                select(SandboxRefund).where(SandboxRefund.idempotency_key == f"{request.id}:refund")
            )
        ).all()
    assert row.amount == stored.net
    await assert_ledger_clean(runtime)


async def test_a_crash_right_after_the_gateway_refund_is_finished_by_the_worker_once(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    request = await approved_to_card(client, runtime, person)
    faults.arm("refund.refunded_at_gateway")

    await run_due(runtime.refund_deps())  # refunds at the gateway, then "dies"

    assert (await the_request(runtime, request.order_id)).status == "approved"
    assert (
        await count_rows(
            runtime, SandboxRefund, SandboxRefund.idempotency_key == f"{request.id}:refund"
        )
        == 1
    )
    await run_due(runtime.refund_deps())  # still leased to the dead worker: nothing
    assert (await the_request(runtime, request.order_id)).status == "approved"
    clock.advance(LEASE.total_seconds() + 1)
    await run_due(runtime.refund_deps())
    await assert_paid_once(runtime, request)


async def test_a_crash_as_the_gateway_answers_is_finished_once_too(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    request = await approved_to_card(client, runtime, person)
    crashing = CrashOnce(runtime.payment_gateway, "refund")
    deps = runtime.refund_deps()

    with pytest.raises(Crash):
        await service.advance_refund(
            service.RefundDeps(
                deps.session_factory, crashing, deps.supplier, deps.gateway_name, deps.calendar
            ),
            request.id,
        )

    assert crashing.crashed
    clock.advance(LEASE.total_seconds() + 1)
    await run_due(runtime.refund_deps())
    await assert_paid_once(runtime, request)


async def test_paying_again_a_paid_request_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    request = await approved_to_card(client, runtime, person)
    await service.advance_refund(runtime.refund_deps(), request.id)

    await service.advance_refund(runtime.refund_deps(), request.id)
    clock.advance(LEASE.total_seconds() + 1)
    await run_due(runtime.refund_deps())

    await assert_paid_once(runtime, request)
