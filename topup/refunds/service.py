"""Refund requests: quoted by the product's policy, claimed against the order, decided by
support or automatically, and paid to the wallet or back to the card.

Creating a request claims its amount on the order in the same transaction (one guarded
UPDATE, see ``OrderRepository.claim_refund``), so two requests racing for the same money
can never both be stored. A rejection gives the claim back. Paying follows the order
lifecycle's discipline: the gateway refund is made with no transaction open, under a key
derived from the request, and the ledger entry and the ``paid`` status are then recorded
together; a crash in between is resumed by the worker and pays nothing twice. A calling
card is first closed at the supplier (so the refunded balance cannot be spent too), and
the request brought down to what the close reported, before any money moves.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import orjson
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.accounts.models import Customer
from topup.catalogue.models import ProductType
from topup.idempotency.service import ensure_key_fresh
from topup.kit import clock, faults
from topup.kit.db import unit_of_work
from topup.kit.errors import Conflict, Forbidden, NotFound
from topup.kit.ids import new_id
from topup.kit.money import Money
from topup.ledger import service as ledger
from topup.notifications import refunds as refund_messages
from topup.orders.models import ACTIVE_STATUSES, Order, PaymentMethod, PaymentStatus
from topup.orders.repository import OrderRepository
from topup.pins import service as pins
from topup.providers.payments.base import PaymentGateway
from topup.providers.suppliers.base import (
    CardBalance,
    SupplierUnavailable,
    TopupStatus,
    TopupSupplier,
)
from topup.refunds.models import RefundPolicyRow, RefundRequest, RefundStatus
from topup.refunds.policy import Approval, BusinessCalendar, Destination, RefundPolicy, presets
from topup.refunds.quote import (
    EUR,
    Purchase,
    Quote,
    RefundAsk,
    RefundRefused,
    RemainingBalance,
    quote,
)
from topup.refunds.repository import RefundRepository
from topup.risk import audit
from topup.subscriptions.refunds import plan_remaining
from topup.wallet.accounting import open_wallet, wallet_account_id

REFUNDS = "refunds:EUR"  # what refunds cost us, before the fees kept from them
REFUND_FEES = "refund_fees:EUR"
SYSTEM = audit.SYSTEM
# A supplier that did not answer the automatic check is asked again after this.
RETRY_CHECK = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class RefundDeps:
    session_factory: async_sessionmaker[AsyncSession]
    gateway: PaymentGateway
    supplier: TopupSupplier
    gateway_name: str
    calendar: BusinessCalendar


@dataclass(frozen=True, slots=True)
class AskForRefund:
    order_id: str
    amount: int | None
    reason: str
    destination: Destination
    details: str | None = None


@dataclass(frozen=True, slots=True)
class Quoted:
    quote: Quote
    order: Order
    policy: RefundPolicy
    policy_version: int


# ---- policies -----------------------------------------------------------------------------


async def policy_for(session: AsyncSession, product_type: str) -> tuple[RefundPolicy, int]:
    """The product type's policy and its version; a shipped preset is stored on first use."""
    repository = RefundRepository(session)
    row = await repository.policy(product_type)
    if row is None:
        row = await _install_preset(session, product_type)
    return RefundPolicy.model_validate_json(row.document), row.version


async def _install_preset(session: AsyncSession, product_type: str) -> RefundPolicyRow:
    preset = presets().get(product_type)
    if preset is None:
        raise RefundRefused(
            "no_policy", "This product cannot be refunded online; ask support.", field="order_id"
        )
    repository = RefundRepository(session)
    row = RefundPolicyRow(
        product_type=product_type,
        document=preset.model_dump_json(),
        version=1,
        updated_by=None,
        updated_at=clock.now(),
    )
    try:
        async with session.begin_nested():  # another request may install it first
            repository.add(row)
            await repository.flush()
    except IntegrityError:
        found = await repository.policy(product_type)
        if found is None:
            raise
        return found
    return row


async def all_policies(session: AsyncSession) -> list[RefundPolicyRow]:
    repository = RefundRepository(session)
    stored = {row.product_type for row in await repository.policies()}
    for product_type in presets():
        if product_type not in stored:
            await _install_preset(session, product_type)
    return list(await repository.policies())


async def put_policy(
    session: AsyncSession, product_type: str, policy: RefundPolicy, *, actor: str
) -> RefundPolicyRow:
    """Replace a product type's policy; requests already made keep the figures they got."""
    repository = RefundRepository(session)
    row = await repository.policy(product_type, for_update=True)
    now = clock.now()
    if row is None:
        row = RefundPolicyRow(product_type=product_type, version=0, updated_at=now)
        repository.add(row)
    row.document = policy.model_dump_json()
    row.version += 1
    row.updated_by = actor
    row.updated_at = now
    await repository.flush()
    audit.record(
        session,
        kind="refund_policy",
        outcome="changed",
        actor=actor,
        rule_id=product_type,
        inputs=orjson.loads(row.document) | {"version": row.version},
    )
    return row


# ---- quoting and requesting -----------------------------------------------------------------


async def remaining_balance(
    session_factory: async_sessionmaker[AsyncSession],
    supplier: TopupSupplier,
    customer: Customer,
    order_id: str,
) -> RemainingBalance | None:
    """What is left of a calling card, asked of the supplier before the refund's own
    transaction opens (a remote call never waits inside one); None for any other product,
    or when the supplier cannot say, which the policy then refuses as unknown."""
    async with session_factory() as session:
        order = await OrderRepository(session).order_of(customer.id, order_id)
    if order is None:
        return None
    balance = await pins.card_balance(supplier, order)
    return RemainingBalance(balance.remaining, balance.original) if balance else None


async def quote_for(
    session: AsyncSession,
    customer: Customer,
    ask: AskForRefund,
    calendar: BusinessCalendar,
    *,
    remaining: RemainingBalance | None = None,
) -> Quoted:
    order = await OrderRepository(session).order_of(customer.id, ask.order_id)
    if order is None:  # another customer's order is as absent as one never placed
        raise NotFound("No such order.", code="order_not_found", field="order_id")
    if order.status in {status.value for status in ACTIVE_STATUSES}:
        raise RefundRefused(
            "order_in_progress",
            "This order is still in progress; if it fails, its payment is released in full.",
            field="order_id",
        )
    policy, version = await policy_for(session, order.product_type)
    captured = order.payment_status == PaymentStatus.captured
    # A calling card's balance came from the supplier (``remaining_balance``); a plan's
    # unused share is ours to count.
    if order.product_type == ProductType.plan:  # refuses a renewal outright
        remaining = await plan_remaining(session, order, now=clock.now())
    purchase = Purchase(
        paid=order.price_amount if captured else 0,
        already_claimed=order.refunded_amount,
        purchased_at=order.created_at,
        remaining=remaining,
    )
    found = quote(
        policy,
        purchase,
        RefundAsk(ask.reason, ask.destination, ask.amount),
        now=clock.now(),
        calendar=calendar,
    )
    return Quoted(found, order, policy, version)


async def request_refund(
    session: AsyncSession,
    customer: Customer,
    ask: AskForRefund,
    *,
    key: str,
    calendar: BusinessCalendar,
    remaining: RemainingBalance | None = None,
) -> RefundRequest:
    """Store the request the preview showed; the same Idempotency-Key finds it again."""
    repository = RefundRepository(session)
    existing = await repository.request_by_key(customer.id, key)
    if existing is not None:
        return ensure_key_fresh(existing.created_at, existing)
    quoted = await quote_for(session, customer, ask, calendar, remaining=remaining)
    claimed = await OrderRepository(session).claim_refund(
        quoted.order.id, quoted.quote.amount, ceiling=quoted.quote.ceiling
    )
    if not claimed:
        raise RefundRefused(
            "already_refunded",
            "Another refund request for this order has just claimed this money.",
            field="amount.amount",
        )
    now = clock.now()
    automatic = quoted.quote.approval is Approval.automatic
    request = RefundRequest(
        id=new_id("rfd"),
        customer_id=customer.id,
        order_id=quoted.order.id,
        idempotency_key=key,
        product_type=quoted.order.product_type,
        policy_version=quoted.policy_version,
        reason=ask.reason,
        details=ask.details,
        destination=ask.destination.value,
        approval=quoted.quote.approval.value,
        amount=quoted.quote.amount,
        fee=quoted.quote.fee,
        net=quoted.quote.net,
        status=RefundStatus.requested.value,
        answer_by=quoted.quote.answer_by,
        pay_by=None,
        decision_reason=None,
        decided_by=None,
        decided_at=None,
        paid_at=None,
        due_at=now if automatic else None,
        created_at=now,
        updated_at=now,
    )
    repository.add(request)
    await repository.flush()
    return request


# ---- deciding -------------------------------------------------------------------------------


async def approve(
    session: AsyncSession,
    request_id: str,
    *,
    actor: str,
    calendar: BusinessCalendar,
    note: str | None = None,
) -> RefundRequest:
    """Approve a request; the worker (or the caller, at once) then pays it."""
    request = await _requested(session, request_id, RefundStatus.approved, actor)
    policy, _ = await policy_for(session, request.product_type)
    now = clock.now()
    request.status = RefundStatus.approved.value
    request.decided_by = actor
    request.decided_at = now
    request.decision_reason = note
    request.pay_by = calendar.add_business_days(now, policy.processing_business_days)
    request.due_at = now
    request.updated_at = now
    _audit(session, request, "approved", actor)
    return request


async def reject(
    session: AsyncSession, request_id: str, *, actor: str, reason: str
) -> RefundRequest:
    """Refuse a request with the reason the customer will read, and free its claim."""
    request = await _requested(session, request_id, RefundStatus.rejected, actor)
    await OrderRepository(session).release_refund(request.order_id, request.amount)
    now = clock.now()
    request.status = RefundStatus.rejected.value
    request.decided_by = actor
    request.decided_at = now
    request.decision_reason = reason
    request.due_at = None
    request.updated_at = now
    _audit(session, request, "rejected", actor)
    await refund_messages.refund_rejected(session, request)
    return request


async def _requested(
    session: AsyncSession, request_id: str, decision: RefundStatus, actor: str
) -> RefundRequest:
    """The request, once this caller has taken the decision on it: of two deciding at once
    (two people, or a person and the supplier check), the second gets the 409."""
    repository = RefundRepository(session)
    request = await repository.request(request_id, for_update=True)
    if request is None:
        raise NotFound("No such refund request.", code="refund_request_not_found", field="id")
    if request.customer_id == actor:  # staff buy too; their own refunds go to a colleague
        raise Forbidden(
            "Another member of staff must decide your own refund request.",
            code="own_refund_request",
        )
    if request.status != RefundStatus.requested or not await repository.leave_requested(
        request_id, status=decision.value
    ):
        raise Conflict(f"This request is already {request.status}.", code="refund_already_decided")
    return request


def _audit(session: AsyncSession, request: RefundRequest, outcome: str, actor: str) -> None:
    audit.record(
        session,
        kind="refund",
        outcome=outcome,
        actor=actor,
        order_id=request.order_id,
        customer_id=request.customer_id,
        inputs={
            "refund_request_id": request.id,
            "amount": request.amount,
            "reason": request.decision_reason,
        },
    )


# ---- the worker's steps ---------------------------------------------------------------------


async def advance_refund(deps: RefundDeps, request_id: str) -> RefundRequest | None:
    """Run the request's next step: the automatic check, or the payment."""
    async with deps.session_factory() as session:
        request = await RefundRepository(session).request(request_id)
    if request is None:
        return None
    if request.status == RefundStatus.requested and request.approval == Approval.automatic:
        await _check_with_supplier(deps, request)
    elif request.status == RefundStatus.approved:
        await _pay(deps, request)
    async with deps.session_factory() as session:
        return await RefundRepository(session).request(request_id)


async def _check_with_supplier(deps: RefundDeps, request: RefundRequest) -> None:
    """An automatic reason is approved once the supplier confirms the top-up failed. Any
    other answer goes to support: "delivered", and also "not found", since we only refund
    captured orders, which the supplier once reported delivered; a supplier that forgot
    the reference (retention, a changed supplier) proves nothing."""
    try:
        result = await deps.supplier.status(request.order_id)
    except SupplierUnavailable:
        result = None
    async with unit_of_work(deps.session_factory) as session:
        current = await RefundRepository(session).request(request.id, for_update=True)
        if current is None or current.status != RefundStatus.requested:
            return
        if result is None or result.status is TopupStatus.pending:
            current.due_at = clock.now() + RETRY_CHECK
            return
        if result.status is TopupStatus.failed:
            with suppress(Conflict):  # a person decided in the meantime
                await approve(
                    session,
                    current.id,
                    actor=SYSTEM,
                    calendar=deps.calendar,
                    note="The supplier confirms the top-up failed.",
                )
            return
        note = (
            "The supplier reports the top-up as delivered: support decides."
            if result.status is TopupStatus.succeeded
            else "The supplier no longer knows this top-up: support decides."
        )
        # Conditional, like a decision: a person's approval in the meantime keeps its due_at.
        await RefundRepository(session).leave_requested(
            current.id,
            approval=Approval.manual.value,
            due_at=None,
            decision_reason=note,
            updated_at=clock.now(),
        )


async def _pay(deps: RefundDeps, request: RefundRequest) -> None:
    async with deps.session_factory() as session:
        order = await OrderRepository(session).order(request.order_id)
    assert order is not None
    if order.product_type == ProductType.calling_card:
        closed = await _close_card(deps, request, order)
        if closed is None:
            return
        request = closed
    to_card = (
        request.destination == Destination.original_method
        and order.payment_method == PaymentMethod.card
    )
    if to_card and request.net > 0:
        assert order.gateway_reference is not None
        await deps.gateway.refund(
            order.gateway_reference, Money(request.net, EUR), idempotency_key=f"{request.id}:refund"
        )
        faults.checkpoint("refund.refunded_at_gateway")
    async with unit_of_work(deps.session_factory) as session:
        current = await RefundRepository(session).request(request.id, for_update=True)
        if current is None or current.status != RefundStatus.approved:
            return
        target = f"card_clearing:{deps.gateway_name}:{EUR}" if to_card else None
        await _record_payment(session, current, order, target)
        now = clock.now()
        current.status = RefundStatus.paid.value
        current.paid_at = now
        current.due_at = None
        current.updated_at = now
        await refund_messages.refund_paid(session, current, order, to_wallet=not to_card)


async def _close_card(
    deps: RefundDeps, request: RefundRequest, order: Order
) -> RefundRequest | None:
    """Close the calling card at the supplier before its refund is paid, so the refunded
    balance cannot be spent as well; then bring the request down to what the close reported
    (the quote read the balance earlier, and calls may have used some since). Returns the
    request to pay, or None when there is nothing to pay now.

    The close is asked with no transaction open. It answers the same figure every time, so
    after a crash anywhere past it the worker closes again, gets the same figure, and the
    adjustment (only ever down to that figure) does nothing twice."""
    try:
        closed = await deps.supplier.close_card(order.id)
    except SupplierUnavailable:
        await _retry_later(deps, request)
        return None
    faults.checkpoint("refund.card_closed")
    async with unit_of_work(deps.session_factory) as session:
        current = await RefundRepository(session).request(request.id, for_update=True)
        if current is None or current.status != RefundStatus.approved:
            return None
        locked = await OrderRepository(session).order(order.id, for_update=True)
        assert locked is not None
        payable = _payable_after_close(current, locked, closed)
        if payable <= 0:
            await _refuse_used_card(session, current, closed)
            return None
        if payable < current.amount:
            await _reduce(session, current, payable, closed)
        return current


def _payable_after_close(request: RefundRequest, order: Order, closed: CardBalance) -> int:
    """min(quoted, the closed balance's share of what was paid), less what the order's
    other refund requests claim: never more than the card held when it closed."""
    if closed.original <= 0:
        return 0
    share = order.price_amount * min(closed.remaining, closed.original) // closed.original
    others = order.refunded_amount - request.amount
    return min(request.amount, max(share - others, 0))


async def _reduce(
    session: AsyncSession, request: RefundRequest, payable: int, closed: CardBalance
) -> None:
    """Pay ``payable`` instead of the quoted amount: the claim on the order gives back the
    difference, and the fee keeps the rate the request was quoted (a policy changed since
    does not apply to a request already made)."""
    quoted = request.amount
    await OrderRepository(session).release_refund(request.order_id, quoted - payable)
    fee = int(
        (Decimal(request.fee) * payable / quoted).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )
    request.amount, request.fee, request.net = payable, fee, payable - fee
    request.updated_at = clock.now()
    _audit_close(session, request, "reduced_to_closed_card", quoted, closed)


async def _refuse_used_card(
    session: AsyncSession, request: RefundRequest, closed: CardBalance
) -> None:
    """Nothing was left when the card closed: the approval cannot be paid, so the request
    ends rejected (the one way out of ``approved`` besides ``paid``) and frees its claim."""
    await OrderRepository(session).release_refund(request.order_id, request.amount)
    now = clock.now()
    request.status = RefundStatus.rejected.value
    request.decision_reason = "The card's balance was used before it could be closed."
    request.due_at = None
    request.updated_at = now
    _audit_close(session, request, "card_used_up", request.amount, closed)
    await refund_messages.refund_rejected(session, request)


def _audit_close(
    session: AsyncSession,
    request: RefundRequest,
    outcome: str,
    quoted: int,
    closed: CardBalance,
) -> None:
    audit.record(
        session,
        kind="refund",
        outcome=outcome,
        actor=SYSTEM,
        order_id=request.order_id,
        customer_id=request.customer_id,
        inputs={
            "refund_request_id": request.id,
            "quoted_amount": quoted,
            "amount": request.amount,
            "closed_remaining": closed.remaining,
            "closed_original": closed.original,
            "currency": closed.currency,
        },
    )


async def _retry_later(deps: RefundDeps, request: RefundRequest) -> None:
    """The supplier could not close the card: nothing is paid until it has, since paying
    first would leave the refunded balance spendable. Asked again later; support sees it
    in the log (a supplier that cannot close cards at all never gets here: its balance is
    unknown, so the quote refuses such a refund)."""
    structlog.get_logger(__name__).warning(
        "refund_card_close_unavailable", refund_request_id=request.id
    )
    async with unit_of_work(deps.session_factory) as session:
        current = await RefundRepository(session).request(request.id, for_update=True)
        if current is not None and current.status == RefundStatus.approved:
            current.due_at = clock.now() + RETRY_CHECK


async def _record_payment(
    session: AsyncSession, request: RefundRequest, order: Order, card_clearing: str | None
) -> None:
    """refunds → the customer (wallet or card clearing) for the net, refunds → refund fees
    for the fee: together the whole amount, so the books show both."""
    target = card_clearing or wallet_account_id(order.customer_id)
    await ledger.open_account(session, REFUNDS, code="refunds", currency=EUR)
    await ledger.open_account(session, REFUND_FEES, code="refund_fees", currency=EUR)
    if card_clearing is None:
        await open_wallet(session, order.customer_id)
    else:
        await ledger.open_account(session, card_clearing, code="card_clearing", currency=EUR)
    parts = [(target, request.net), (REFUND_FEES, request.fee)]
    await ledger.record(
        session,
        kind="refund",
        reference=order.id,
        idempotency_key=f"{request.id}:paid",
        movements=[
            ledger.Movement(REFUNDS, account, Money(amount, EUR))
            for account, amount in parts
            if amount > 0
        ],
    )
