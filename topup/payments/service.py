"""Saving, listing and removing cards."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import Customer
from topup.accounts.service import ensure_not_blocked
from topup.kit import clock
from topup.kit.errors import InvalidInput, NotFound
from topup.kit.ids import new_id
from topup.payments.models import SavedCard
from topup.payments.repository import CardRepository
from topup.providers.payments.base import (
    CardDetails,
    CardRejected,
    PaymentGateway,
    TokenizedCard,
)


async def save_card(
    session: AsyncSession, gateway: PaymentGateway, customer: Customer, card: CardDetails
) -> SavedCard:
    """Tokenise the card with the gateway and keep only what may be kept."""
    ensure_not_blocked(customer)
    try:
        tokenized = await gateway.tokenize(card)
    except CardRejected as rejected:
        raise InvalidInput(rejected.message, code=rejected.code, field=rejected.field) from None
    return await keep_card(session, customer, tokenized)


async def keep_card(
    session: AsyncSession, customer: Customer, tokenized: TokenizedCard
) -> SavedCard:
    """Store a card the gateway has tokenised: the token and what may be shown, never the
    number."""
    saved = SavedCard(
        id=new_id("card"),
        customer_id=customer.id,
        gateway_token=tokenized.token,
        brand=tokenized.brand.value,
        last4=tokenized.last4,
        exp_month=tokenized.exp_month,
        exp_year=tokenized.exp_year,
        fingerprint=tokenized.fingerprint,
        country=tokenized.country,
        created_at=clock.now(),
    )
    CardRepository(session).add(saved)
    await session.flush()
    return saved


async def own_card(
    session: AsyncSession, customer_id: str, card_id: str, *, field: str
) -> SavedCard:
    """The customer's saved card to pay with, or 422 ``card_not_found`` on ``field`` (the
    name the request gave it): another customer's card is as absent as none."""
    card = await CardRepository(session).card_of(customer_id, card_id)
    if card is None:
        raise InvalidInput("No such saved card.", code="card_not_found", field=field)
    return card


async def cards_of(session: AsyncSession, customer: Customer) -> Sequence[SavedCard]:
    return await CardRepository(session).cards_of(customer.id)


async def remove_card(session: AsyncSession, customer: Customer, card_id: str) -> None:
    repository = CardRepository(session)
    card = await repository.card_of(customer.id, card_id)
    if card is None:  # another customer's card is as absent as one that never existed
        raise NotFound("No such card.", code="card_not_found", field="id")
    await repository.remove(card)
