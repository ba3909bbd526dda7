"""Funding the wallet by card, and reading its balance and statement.

A funding follows the order lifecycle's discipline: each step calls the gateway with no
transaction open, then records the outcome in a small transaction that first checks the
funding is still where the step found it. Authorization carries a key derived from the
funding id and capture is safe to repeat, so a step run again after a crash never charges
twice, and the ledger credit has its own idempotency key, so it never credits twice. The
worker resumes any funding a crash left open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.accounts.models import Customer
from topup.accounts.service import ensure_can_buy
from topup.idempotency.service import ensure_key_fresh
from topup.kit import clock, faults
from topup.kit.db import unit_of_work
from topup.kit.errors import Forbidden, InvalidInput
from topup.kit.ids import new_id
from topup.kit.money import Money
from topup.ledger import service as ledger
from topup.payments.service import own_card
from topup.providers.payments.base import (
    AuthorizationStatus,
    CardDetails,
    CardRejected,
    PaymentGateway,
)
from topup.risk.repository import RiskRepository
from topup.wallet.accounting import EUR, open_wallet, wallet_account_id
from topup.wallet.models import FundingStatus, WalletFunding
from topup.wallet.repository import WalletLine, WalletRepository

# A funding the request path left open (a crash, the gateway away) is the worker's after this.
LEASE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class FundingBounds:
    minimum: int
    maximum: int


@dataclass(frozen=True, slots=True)
class FundWallet:
    amount: int  # EUR cents
    card_id: str | None
    new_card: CardDetails | None


@dataclass(frozen=True, slots=True)
class FundingDeps:
    session_factory: async_sessionmaker[AsyncSession]
    gateway: PaymentGateway
    gateway_name: str


async def start_funding(
    session: AsyncSession,
    gateway: PaymentGateway,
    customer: Customer,
    *,
    key: str,
    request: FundWallet,
    bounds: FundingBounds,
) -> WalletFunding:
    """The funding this Idempotency-Key names: the one already started, or a new one."""
    repository = WalletRepository(session)
    existing = await repository.funding_by_key(customer.id, key)
    if existing is not None:
        return ensure_key_fresh(existing.created_at, existing)
    # A blocked account's wallet is frozen; an unconfirmed phone cannot buy, so it has
    # nothing to add money for.
    ensure_can_buy(customer)
    if not bounds.minimum <= request.amount <= bounds.maximum:
        raise InvalidInput(
            f"Add from {Money(bounds.minimum, EUR).to_major()} to"
            f" {Money(bounds.maximum, EUR).to_major()} EUR at a time.",
            code="amount_out_of_bounds",
            field="amount.amount",
        )
    card_id, token, last4, fingerprint = await _card(session, gateway, customer, request)
    if await RiskRepository(session).card_block(fingerprint) is not None:
        # As for an order: a blocked card may not pay, and not by way of the wallet either.
        raise Forbidden(
            "This card is blocked and may not pay; use another card.",
            code="card_blocked",
            field="payment",
        )
    now = clock.now()
    funding = WalletFunding(
        id=new_id("fund"),
        customer_id=customer.id,
        idempotency_key=key,
        amount=request.amount,
        status=FundingStatus.created.value,
        card_id=card_id,
        card_token=token,
        card_last4=last4,
        gateway_reference=None,
        decline_code=None,
        due_at=now + LEASE,
        created_at=now,
        updated_at=now,
    )
    repository.add(funding)
    await open_wallet(session, customer.id)
    await session.flush()
    return funding


async def _card(
    session: AsyncSession, gateway: PaymentGateway, customer: Customer, request: FundWallet
) -> tuple[str | None, str, str, str]:
    """(saved card id, gateway token, last 4 digits, fingerprint) of the paying card."""
    if request.card_id is not None:
        card = await own_card(session, customer.id, request.card_id, field="payment.card_id")
        return card.id, card.gateway_token, card.last4, card.fingerprint
    assert request.new_card is not None
    try:
        tokenized = await gateway.tokenize(request.new_card)
    except CardRejected as rejected:
        raise InvalidInput(
            rejected.message, code=rejected.code, field=f"payment.card.{rejected.field}"
        ) from None
    return None, tokenized.token, tokenized.last4, tokenized.fingerprint


async def advance_funding(deps: FundingDeps, funding_id: str) -> WalletFunding:
    """Take the funding to its end (credited or declined) from wherever it stopped."""
    while True:
        async with deps.session_factory() as session:
            funding = await WalletRepository(session).funding(funding_id)
        assert funding is not None
        if funding.status == FundingStatus.created:
            await _authorize(deps, funding)
        elif funding.status == FundingStatus.authorized:
            await _capture(deps, funding)
        else:
            return funding


async def _authorize(deps: FundingDeps, funding: WalletFunding) -> None:
    result = await deps.gateway.authorize(
        funding.card_token, Money(funding.amount, EUR), idempotency_key=f"{funding.id}:authorize"
    )
    faults.checkpoint("funding.authorized_at_gateway")
    async with unit_of_work(deps.session_factory) as session:
        current = await WalletRepository(session).funding(funding.id, for_update=True)
        if current is None or current.status != FundingStatus.created:
            return
        current.gateway_reference = result.reference
        if result.status is AuthorizationStatus.declined:
            current.status = FundingStatus.declined.value
            current.decline_code = result.decline_code
        else:
            current.status = FundingStatus.authorized.value
        current.updated_at = clock.now()


async def _capture(deps: FundingDeps, funding: WalletFunding) -> None:
    assert funding.gateway_reference is not None
    await deps.gateway.capture(funding.gateway_reference, Money(funding.amount, EUR))
    faults.checkpoint("funding.captured_at_gateway")
    async with unit_of_work(deps.session_factory) as session:
        current = await WalletRepository(session).funding(funding.id, for_update=True)
        if current is None or current.status != FundingStatus.authorized:
            return
        clearing = f"card_clearing:{deps.gateway_name}:{EUR}"
        await ledger.open_account(session, clearing, code="card_clearing", currency=EUR)
        await open_wallet(session, current.customer_id)
        await ledger.record(
            session,
            kind="wallet_funding",
            reference=current.id,
            idempotency_key=f"{current.id}:credit",
            movements=[
                ledger.Movement(
                    clearing, wallet_account_id(current.customer_id), Money(current.amount, EUR)
                )
            ],
        )
        current.status = FundingStatus.credited.value
        current.updated_at = clock.now()


# What each kind of ledger entry is, seen from the wallet.
LINE_KINDS = {
    "wallet_funding": "funding",
    "wallet_order_hold": "order_payment",
    "refund": "refund",
    "wallet_given_up": "balance_given_up",
}
ORDER_LINE_KINDS = frozenset({"order_payment", "refund"})


@dataclass(frozen=True, slots=True)
class Statement:
    lines: list[WalletLine]
    more: bool


async def statement(
    session: AsyncSession, customer: Customer, *, limit: int, after: tuple[datetime, str] | None
) -> Statement:
    lines = await WalletRepository(session).lines(
        wallet_account_id(customer.id), limit=limit + 1, after=after
    )
    return Statement(lines[:limit], len(lines) > limit)


def signed_amount(line: WalletLine, customer_id: str) -> int:
    """Money into the wallet is positive, money out (or held) negative."""
    return -line.amount if line.debit_account_id == wallet_account_id(customer_id) else line.amount
