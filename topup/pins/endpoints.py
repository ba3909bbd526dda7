"""``POST /v1/sandbox/calling-cards/{order_id}/use``: spend from a simulated calling card,
as its holder's calls would, outside production only (like the other sandbox routes).

The simulator already uses a card up by the clock (a tenth a day); this lets tests and
demos take a precise amount off it, to watch the refund policy's 50 % rule apply. Only
the card's buyer may spend from it (another customer's order is as absent as one never
placed): a card is money, in the sandbox as anywhere.
"""

from __future__ import annotations

from fastapi import APIRouter

from topup.accounts.auth import CurrentCustomer
from topup.kit.errors import Conflict, InvalidInput, NotFound
from topup.kit.http import RuntimeDep, SessionDep
from topup.kit.schemas import error_responses
from topup.orders.endpoints import OrderId
from topup.orders.repository import OrderRepository
from topup.pins.schemas import CardBalanceOut, CardUseIn
from topup.providers.suppliers.base import CardBalance, SupplierUnavailable
from topup.providers.suppliers.simulator import CardClosed, CardOverdrawn, SupplierSimulator

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


def _out(balance: CardBalance) -> CardBalanceOut:
    return CardBalanceOut.model_validate(
        {
            "balance": {"amount": balance.remaining, "currency": balance.currency},
            "original_balance": {"amount": balance.original, "currency": balance.currency},
        }
    )


@router.post(
    "/calling-cards/{order_id}/use",
    response_model=CardBalanceOut,
    responses=error_responses(401, 404, 409, 422),
)
async def use_calling_card(
    order_id: OrderId,
    body: CardUseIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    session: SessionDep,
) -> CardBalanceOut:
    """Spend `amount` (minor units of the card's currency) from the calling card that the
    caller's order `order_id` delivered; answers what is left. Sandbox with the simulator
    only."""
    supplier = runtime.supplier
    if not runtime.settings.is_sandbox or not isinstance(supplier, SupplierSimulator):
        raise NotFound("No such resource.")
    if await OrderRepository(session).order_of(customer.id, order_id) is None:
        raise _no_card()
    try:
        before = await supplier.card_balance(order_id)
        if body.currency != before.currency:
            raise InvalidInput(
                f"This card holds {before.currency}.", code="currency_mismatch", field="currency"
            )
        return _out(await supplier.use_card(order_id, body.amount))
    except SupplierUnavailable:
        raise _no_card() from None
    except CardClosed:
        raise Conflict(
            "This calling card was closed (refunded) and can no longer be used.",
            code="calling_card_closed",
        ) from None
    except CardOverdrawn as overdrawn:
        raise InvalidInput(
            f"Only {overdrawn.balance.remaining} is left on this card.",
            code="amount_above_balance",
            field="amount",
        ) from None


def _no_card() -> NotFound:
    return NotFound(
        "No calling card was delivered for this order.",
        code="calling_card_not_found",
        field="order_id",
    )
