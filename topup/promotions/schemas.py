"""``/v1/admin/promo-codes`` and ``/v1/promo-codes/preview`` shapes (Topup's additions)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from topup.catalogue.models import ProductType
from topup.kit.schemas import AmountOut
from topup.orders.schemas import AmountIn
from topup.promotions.models import DiscountKind

# Letters, digits, "-" and "_", 3 to 40 of them; any case (stored upper-case).
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$"
Cents = Annotated[StrictInt, Field(gt=0, lt=10**12)]
Count = Annotated[StrictInt, Field(ge=1, le=10**9)]
# A restriction: up to 500 names; empty allows everything.
Names = Annotated[list[Annotated[str, Field(min_length=1, max_length=80)]], Field(max_length=500)]
Countries = Annotated[list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]], Field(max_length=500)]
Types = Annotated[list[ProductType], Field(max_length=10)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromoCodeIn(_Body):
    code: Annotated[str, Field(pattern=CODE_PATTERN)]
    kind: DiscountKind
    # Percent off the list price: 0 < p <= 100, at most two decimals ("12.5").
    percent_off: Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)] | None = (
        None
    )
    amount_off: Cents | None = None  # EUR cents
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    max_redemptions: Count | None = None  # left out: no total limit
    per_customer_limit: Count = 1
    product_ids: Names = []
    operator_ids: Names = []
    country_iso2s: Countries = []
    product_types: Types = []
    min_price: Cents | None = None  # EUR cents of list price
    customer_id: Annotated[str, Field(pattern=r"^cus_[0-9a-f]{32}$")] | None = None
    enabled: bool = True


class PromoCodeChange(_Body):
    """What may change on a code; what is left out stays. ``max_redemptions: null``
    lifts the total limit."""

    enabled: bool | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    max_redemptions: Count | None = None
    per_customer_limit: Count | None = None


class RedemptionCounts(BaseModel):
    reserved: int  # orders under way
    used: int  # delivered orders
    released: int  # orders that ended without delivering: their uses were given back


class PromoCodeOut(BaseModel):
    id: str
    code: str
    kind: DiscountKind
    percent_off: str | None
    amount_off: AmountOut | None
    valid_from: datetime
    valid_until: datetime
    max_redemptions: int | None
    per_customer_limit: int
    redeemed: int  # uses reserved or used: what counts against max_redemptions
    product_ids: list[str]
    operator_ids: list[str]
    country_iso2s: list[str]
    product_types: list[str]
    min_price: AmountOut | None
    customer_id: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    redemptions: RedemptionCounts | None = None  # on GET of one code


class PromoCodeList(BaseModel):
    data: list[PromoCodeOut]
    next_cursor: str | None = None


class PreviewIn(_Body):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    product_id: Annotated[str, Field(max_length=80)]
    recipient_phone: Annotated[str, Field(max_length=64)] | None = None
    amount: AmountIn | None = None  # range products: the local value wanted


class PreviewOut(BaseModel):
    code: str
    list_price: AmountOut
    discount: AmountOut
    price: AmountOut  # what the order would charge: the list price less the discount
