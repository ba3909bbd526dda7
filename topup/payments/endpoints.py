"""``/v1/cards``: a customer's saved cards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from topup.accounts.auth import CurrentCustomer
from topup.kit.http import RuntimeDep, SessionDep
from topup.kit.schemas import error_responses
from topup.payments import service
from topup.payments.models import SavedCard
from topup.payments.schemas import CardIn, CardList, CardOut
from topup.providers.payments.base import CardDetails

router = APIRouter(prefix="/v1/cards", tags=["cards"])


def card_out(card: SavedCard) -> CardOut:
    return CardOut(
        id=card.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


@router.post("", status_code=201, response_model=CardOut, responses=error_responses(401, 403, 422))
async def save_card(
    body: CardIn, customer: CurrentCustomer, runtime: RuntimeDep, session: SessionDep
) -> CardOut:
    """Save a Visa or Mastercard card; only a token, the brand, last 4 and expiry are kept."""
    details = CardDetails(body.number, body.exp_month, body.exp_year, body.cvc)
    return card_out(await service.save_card(session, runtime.payment_gateway, customer, details))


@router.get("", response_model=CardList, responses=error_responses(401))
async def list_cards(customer: CurrentCustomer, session: SessionDep) -> CardList:
    return CardList(data=[card_out(card) for card in await service.cards_of(session, customer)])


@router.delete("/{card_id}", status_code=204, responses=error_responses(401, 404, 422))
async def remove_card(
    card_id: Annotated[str, Path(pattern=r"^card_[0-9a-f]{32}$")],
    customer: CurrentCustomer,
    session: SessionDep,
) -> Response:
    await service.remove_card(session, customer, card_id)
    return Response(status_code=204)
