"""A calling card's refund closes the card at the supplier before any money moves, and pays
no more than the close reported (the quote read an earlier balance); a crash between the
close and the payment pays once; on SQLite and PostgreSQL, with the ledger clean."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.fixtures.customers import logged_in_customer
from tests.orders.support import Crash, CrashOnce
from tests.pins.conftest import CALLING_CARD, DELIVERED, Buyer, MakeBuyer, bought
from tests.refunds.conftest import asked, assert_ledger_clean, refund_body, stored_order
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.providers.payments.sandbox_models import SandboxRefund
from topup.providers.suppliers.base import CardBalance, SupplierUnavailable
from topup.refunds import service
from topup.refunds.models import RefundRequest
from topup.refunds.tasks import LEASE, run_due
from topup.risk.models import RiskDecision
from topup.runtime import Runtime

CARD_VALUE = 1_000_000  # ₦10,000 in kobo


async def use(
    client: httpx.AsyncClient, buyer: Buyer, order_id: str, amount: int
) -> httpx.Response:
    return await client.post(
        f"/v1/sandbox/calling-cards/{order_id}/use",
        json={"amount": amount, "currency": "NGN"},
        headers=buyer.headers,
    )


async def approved_card_refund(
    client: httpx.AsyncClient, runtime: Runtime, buyer: Buyer, *, spent_after_quote: int = 0
) -> tuple[dict[str, Any], RefundRequest]:
    """A calling card bought, its refund asked (quoted on the full balance) and approved;
    ``spent_after_quote`` is used from the card between the request and the payment."""
    support = await logged_in_customer(runtime, role="support")
    order = await bought(client, runtime, buyer, CALLING_CARD, DELIVERED)
    body = refund_body(order["id"], reason="changed_mind", destination="original_method")
    created = await asked(client, buyer.headers, body)
    assert created["amount"]["amount"] == order["price"]["amount"]
    if spent_after_quote:
        spent = await use(client, buyer, order["id"], spent_after_quote)
        assert spent.status_code == 200, spent.text
    async with unit_of_work(runtime.session_factory) as session:
        request = await service.approve(
            session, created["id"], actor=support.id, calendar=runtime.business_calendar()
        )
    return order, request


async def the_request(runtime: Runtime, request_id: str) -> RefundRequest:
    async with runtime.session_factory() as session:
        found = await session.get(RefundRequest, request_id)
    assert found is not None
    return found


async def gateway_refunds(runtime: Runtime, request_id: str) -> list[int]:
    async with runtime.session_factory() as session:
        rows = await session.scalars(
            select(SandboxRefund.amount).where(
                SandboxRefund.idempotency_key == f"{request_id}:refund"
            )
        )
        return list(rows.all())


async def audited(runtime: Runtime, order_id: str, outcome: str) -> int:
    async with runtime.session_factory() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(RiskDecision)
            .where(RiskDecision.order_id == order_id, RiskDecision.outcome == outcome)
        )
    return int(found or 0)


def scaled_fee(fee: int, amount: int, quoted: int) -> int:
    return int((Decimal(fee) * amount / quoted).quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def test_a_refunded_card_is_closed_before_it_is_paid_and_cannot_be_used_again(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    order, request = await approved_card_refund(client, runtime, buyer)

    await run_due(runtime.refund_deps())

    paid = await the_request(runtime, request.id)
    assert (paid.status, paid.amount, paid.net) == ("paid", request.amount, request.net)
    assert await gateway_refunds(runtime, request.id) == [request.net]
    closed = await runtime.supplier.card_balance(order["id"])
    assert (closed.remaining, closed.original) == (0, CARD_VALUE)
    refused = await use(client, buyer, order["id"], 1)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "calling_card_closed")
    # Closing again answers what was left when it closed, not today's zero.
    again = await runtime.supplier.close_card(order["id"])
    assert again == CardBalance(remaining=CARD_VALUE, original=CARD_VALUE, currency="NGN")
    await assert_ledger_clean(runtime)


async def test_a_card_used_after_the_quote_is_refunded_only_what_the_close_left(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    order, request = await approved_card_refund(client, runtime, buyer, spent_after_quote=400_000)

    await run_due(runtime.refund_deps())

    paid = await the_request(runtime, request.id)
    expected = order["price"]["amount"] * 60 // 100  # 60 % was left when the card closed
    fee = scaled_fee(request.fee, expected, request.amount)
    assert (paid.status, paid.amount, paid.fee, paid.net) == ("paid", expected, fee, expected - fee)
    assert await gateway_refunds(runtime, request.id) == [expected - fee]
    assert (await stored_order(runtime, order["id"])).refunded_amount == expected
    assert await audited(runtime, order["id"], "reduced_to_closed_card") == 1
    await assert_ledger_clean(runtime)


async def test_a_card_used_up_before_the_close_is_not_paid(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    order, request = await approved_card_refund(
        client, runtime, buyer, spent_after_quote=CARD_VALUE
    )

    await run_due(runtime.refund_deps())

    ended = await the_request(runtime, request.id)
    assert (ended.status, ended.due_at) == ("rejected", None)
    assert await gateway_refunds(runtime, request.id) == []
    assert (await stored_order(runtime, order["id"])).refunded_amount == 0
    assert await audited(runtime, order["id"], "card_used_up") == 1
    await assert_ledger_clean(runtime)


async def test_a_crash_between_the_close_and_the_payment_pays_once_what_the_close_left(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    order, request = await approved_card_refund(client, runtime, buyer, spent_after_quote=300_000)
    deps = runtime.refund_deps()
    crashing = CrashOnce(deps.supplier, "close_card")

    with pytest.raises(Crash):
        await service.advance_refund(
            service.RefundDeps(
                deps.session_factory, deps.gateway, crashing, deps.gateway_name, deps.calendar
            ),
            request.id,
        )
    # Closed at the supplier, nothing recorded or paid yet; the holder cannot spend on.
    assert (await the_request(runtime, request.id)).amount == request.amount
    assert (await use(client, buyer, order["id"], 1)).status_code == 409
    clock.advance(LEASE.total_seconds() + 1)
    await run_due(deps)
    await run_due(deps)

    paid = await the_request(runtime, request.id)
    expected = order["price"]["amount"] * 70 // 100
    assert (paid.status, paid.amount) == ("paid", expected)
    assert await gateway_refunds(runtime, request.id) == [paid.net]
    assert await audited(runtime, order["id"], "reduced_to_closed_card") == 1
    await assert_ledger_clean(runtime)


class CannotClose:
    """A supplier that cannot close cards now (down, or Reloadly, which documents no way)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def close_card(self, reference: str) -> CardBalance:
        raise SupplierUnavailable("no answer")


async def test_a_card_the_supplier_cannot_close_is_not_paid_until_it_can(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    order, request = await approved_card_refund(client, runtime, buyer)
    deps = runtime.refund_deps()

    await service.advance_refund(
        service.RefundDeps(
            deps.session_factory,
            deps.gateway,
            CannotClose(deps.supplier),
            deps.gateway_name,
            deps.calendar,
        ),
        request.id,
    )

    waiting = await the_request(runtime, request.id)
    assert waiting.status == "approved"
    assert waiting.due_at is not None
    assert waiting.due_at > clock.now()
    assert await gateway_refunds(runtime, request.id) == []
    assert (await use(client, buyer, order["id"], 1)).status_code == 200  # not closed
    await assert_ledger_clean(runtime)


async def test_only_the_buyer_spends_from_a_sandbox_card(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer, other = await pin_buyer(), await pin_buyer()
    order = await bought(client, runtime, buyer, CALLING_CARD, DELIVERED)
    path = f"/v1/sandbox/calling-cards/{order['id']}/use"

    anonymous = await client.post(path, json={"amount": 1, "currency": "NGN"})
    foreign = await use(client, other, order["id"], 1)

    assert anonymous.status_code == 401
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (
        404,
        "calling_card_not_found",
    )
    balance = await runtime.supplier.card_balance(order["id"])
    assert balance.remaining == CARD_VALUE
