"""Admins issuing and changing promo codes; each change is written to the audit log.

A code's terms (its discount, restrictions and owner) are fixed once issued: orders already
placed were priced by them. What may change is whether it is on, its dates and its limits.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.repository import AccountRepository
from topup.catalogue.models import ProductType
from topup.catalogue.snapshot import CatalogueSnapshot
from topup.kit import clock
from topup.kit.errors import Conflict, InvalidInput, NotFound
from topup.kit.ids import new_id
from topup.promotions.models import DiscountKind, PromoCode
from topup.promotions.repository import PromoRepository
from topup.promotions.schemas import PromoCodeChange, PromoCodeIn
from topup.promotions.service import normalised
from topup.risk import audit


async def create_code(
    session: AsyncSession, snapshot: CatalogueSnapshot, body: PromoCodeIn, *, actor: str
) -> PromoCode:
    _check_discount(body.kind, body.percent_off, body.amount_off)
    _check_dates(body.valid_from, body.valid_until)
    _check_restrictions(snapshot, body)
    if body.customer_id is not None and not await _customer_exists(session, body.customer_id):
        raise InvalidInput("No such customer.", code="customer_not_found", field="customer_id")
    repository = PromoRepository(session)
    code = normalised(body.code)
    if await repository.code_named(code) is not None:
        raise _taken(code)
    now = clock.now()
    row = PromoCode(
        id=new_id("promo"),
        code=code,
        kind=body.kind.value,
        percent_off=body.percent_off,
        amount_off=body.amount_off,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        max_redemptions=body.max_redemptions,
        per_customer_limit=body.per_customer_limit,
        redeemed=0,
        product_ids=sorted(set(body.product_ids)),
        operator_ids=sorted(set(body.operator_ids)),
        country_iso2s=sorted(set(body.country_iso2s)),
        product_types=sorted({kind.value for kind in body.product_types}),
        min_price=body.min_price,
        customer_id=body.customer_id,
        enabled=body.enabled,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():  # another admin may issue the same code at once
            repository.add(row)
            await repository.flush()
    except IntegrityError:
        raise _taken(code) from None
    _audit(session, row, "created", actor, body.model_dump(mode="json"))
    return row


async def change_code(
    session: AsyncSession, code_id: str, change: PromoCodeChange, *, actor: str
) -> PromoCode:
    row = await PromoRepository(session).code(code_id)
    if row is None:
        raise NotFound("No such promo code.", code="promo_code_not_found", field="code_id")
    given = change.model_fields_set
    for field in sorted(given - {"max_redemptions"}):
        if getattr(change, field) is None:  # only the total limit can be lifted by null
            raise InvalidInput(f"{field} cannot be null.", code="invalid_field", field=field)
    row.enabled = row.enabled if change.enabled is None else change.enabled
    row.valid_from = change.valid_from or row.valid_from
    row.valid_until = change.valid_until or row.valid_until
    _check_dates(row.valid_from, row.valid_until)
    if "max_redemptions" in given:
        if change.max_redemptions is not None and change.max_redemptions < row.redeemed:
            raise InvalidInput(
                f"{row.redeemed} uses are taken already; the total cannot be lower.",
                code="invalid_field",
                field="max_redemptions",
            )
        row.max_redemptions = change.max_redemptions
    # A lower limit per customer binds from the next order; uses taken stay taken.
    row.per_customer_limit = change.per_customer_limit or row.per_customer_limit
    row.updated_at = clock.now()
    await PromoRepository(session).flush()
    _audit(session, row, "changed", actor, change.model_dump(mode="json", exclude_unset=True))
    return row


async def _customer_exists(session: AsyncSession, customer_id: str) -> bool:
    return await AccountRepository(session).customer(customer_id) is not None


def _check_discount(
    kind: DiscountKind, percent_off: Decimal | None, amount_off: int | None
) -> None:
    if kind is DiscountKind.percent and (percent_off is None or amount_off is not None):
        raise InvalidInput(
            "A percent code gives percent_off and no amount_off.",
            code="invalid_field",
            field="percent_off",
        )
    if kind is DiscountKind.fixed and (amount_off is None or percent_off is not None):
        raise InvalidInput(
            "A fixed code gives amount_off (EUR cents) and no percent_off.",
            code="invalid_field",
            field="amount_off",
        )


def _check_dates(valid_from: datetime, valid_until: datetime) -> None:
    if valid_from >= valid_until:
        raise InvalidInput(
            "valid_until must come after valid_from.", code="invalid_field", field="valid_until"
        )


def _check_restrictions(snapshot: CatalogueSnapshot, body: PromoCodeIn) -> None:
    """A restriction naming nothing we sell is a typo that would make the code useless."""
    unknown = [
        ("product_ids", [name for name in body.product_ids if name not in snapshot.products]),
        ("operator_ids", [name for name in body.operator_ids if name not in snapshot.operators]),
        (
            "country_iso2s",
            [name for name in body.country_iso2s if name not in snapshot.countries],
        ),
    ]
    for field, names in unknown:
        if names:
            raise InvalidInput(
                f"Not in the catalogue: {', '.join(sorted(names)[:5])}.",
                code="invalid_field",
                field=field,
            )
    _refuse_plans(snapshot, body)


def _refuse_plans(snapshot: CatalogueSnapshot, body: PromoCodeIn) -> None:
    """A plan is bought through ``/v1/subscriptions``, which takes no code: a restriction
    naming a plan would issue a code nobody can use (or one usable only elsewhere)."""
    if ProductType.plan in body.product_types:
        raise InvalidInput("Plans take no promo code.", code="invalid_field", field="product_types")
    plans = [
        name
        for name in body.product_ids
        if snapshot.products[name].product_type == ProductType.plan
    ]
    if plans:
        raise InvalidInput(
            f"Plans take no promo code: {', '.join(sorted(plans)[:5])}.",
            code="invalid_field",
            field="product_ids",
        )


def _taken(code: str) -> Conflict:
    return Conflict(f"The code {code} exists already.", code="promo_code_taken", field="code")


def _audit(
    session: AsyncSession, row: PromoCode, outcome: str, actor: str, inputs: dict[str, Any]
) -> None:
    audit.record(
        session,
        kind="promo_code",
        outcome=outcome,
        actor=actor,
        customer_id=row.customer_id,
        inputs={"promo_code_id": row.id, "code": row.code, **inputs},
    )
