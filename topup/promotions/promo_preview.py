"""What a promo code would take off an order, before it is placed; nothing is stored.

The product is priced and the code checked exactly as placing the order does (the same
functions), so the figures shown are the figures charged, unless the last use is taken
in between (then the order is refused with ``promo_code_exhausted``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from topup.catalogue.snapshot import CatalogueSnapshot
from topup.kit.errors import InvalidInput
from topup.lookup.service import look_up_recipient
from topup.orders.pricing import split_price
from topup.orders.service import local_amount_of, product_for
from topup.promotions import service as promotions
from topup.providers.suppliers.base import NumberLookup


@dataclass(frozen=True, slots=True)
class PreviewAsk:
    code: str
    product_id: str
    recipient_phone: str | None
    amount: int | None
    amount_currency: str | None


async def preview(
    session: AsyncSession,
    *,
    snapshot: CatalogueSnapshot,
    number_lookup: NumberLookup,
    customer_id: str,
    ask: PreviewAsk,
) -> promotions.Applied:
    target = await _target(snapshot, number_lookup, customer_id, ask)
    return await promotions.apply(session, ask.code, target)


async def _target(
    snapshot: CatalogueSnapshot, number_lookup: NumberLookup, customer_id: str, ask: PreviewAsk
) -> promotions.Target:
    if ask.recipient_phone is not None:
        found = await look_up_recipient(snapshot, number_lookup, ask.recipient_phone)
        product = product_for(snapshot, found, ask.product_id)
        country = found.country.iso2
    else:
        entry = snapshot.product(ask.product_id)
        operator = snapshot.operators.get(entry.operator_id) if entry else None
        if entry is None or operator is None:
            raise InvalidInput(
                "No such product is on sale.", code="product_not_found", field="product_id"
            )
        product, country = entry, operator.country_iso2
    local_amount = local_amount_of(product, ask.amount, ask.amount_currency)
    list_price = split_price(product, local_amount).price
    return promotions.Target(customer_id, product, country, list_price)
