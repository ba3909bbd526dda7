"""The catalogue file format (``topup-catalogue/1``) and the catalogue's HTTP answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)

from topup.catalogue.models import ProductType
from topup.kit.schemas import AmountOut

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)]
MinorUnits = Annotated[int, Field(gt=0, lt=10**15)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- the catalogue file ---------------------------------------------------------------


class FixedProductFile(_Strict):
    id: Identifier
    kind: Literal["fixed"]
    # Airtime unless said otherwise; PINs and plans are always fixed denominations.
    type: ProductType = ProductType.topup
    local_value: MinorUnits
    price: MinorUnits
    description: Annotated[str, Field(min_length=1, max_length=200)]


class RangeProductFile(_Strict):
    id: Identifier
    kind: Literal["range"]
    local_min: MinorUnits
    local_max: MinorUnits
    local_step: MinorUnits
    price_min: MinorUnits
    price_max: MinorUnits
    description: Annotated[str, Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def bounds_are_consistent(self) -> RangeProductFile:
        if self.local_max < self.local_min:
            raise ValueError(f"{self.id}: local_max is below local_min")
        if self.local_min % self.local_step or self.local_max % self.local_step:
            raise ValueError(f"{self.id}: local_step must divide local_min and local_max")
        return self


ProductFile = Annotated[FixedProductFile | RangeProductFile, Field(discriminator="kind")]


class OperatorFile(_Strict):
    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=100)]
    balance_check_code: Annotated[str, Field(pattern=r"^[*#0-9]{2,32}$")] | None
    enabled: bool = True
    fx_rate: Annotated[Decimal, Field(gt=0)]
    # Empty where libphonenumber has no carrier data (Mexico): the supplier or the
    # customer then names the operator.
    prefixes: list[Annotated[str, Field(pattern=r"^[1-9][0-9]{0,14}$")]]
    products: Annotated[list[ProductFile], Field(min_length=1)]


class CountryFile(_Strict):
    iso2: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    calling_code: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,3}$")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    enabled: bool = True
    operators: list[OperatorFile]


class FxSourceFile(_Strict):
    date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    base: Literal["EUR"]
    source: Annotated[str, Field(min_length=1, max_length=400)]


class PricingFile(_Strict):
    fee_rate: Annotated[Decimal, Field(ge=0, lt=1)]
    vat_rate: Annotated[Decimal, Field(ge=0, lt=1)]


class CatalogueFile(_Strict):
    format: Literal["topup-catalogue/1"]
    fx: FxSourceFile
    pricing: PricingFile
    countries: Annotated[list[CountryFile], Field(min_length=1)]


# ---- HTTP answers -----------------------------------------------------------------------


class CountryOut(BaseModel):
    iso2: str
    name: str
    calling_code: str
    currency: str


class OperatorOut(BaseModel):
    id: str
    name: str
    country: str
    balance_check_code: str | None


class ProductPromotionOut(BaseModel):
    """The operator's promotion running now on a product: information for the buyer (the
    operator grants the bonus itself; the price does not change)."""

    title: str
    description: str
    bonus_percent: int | None = None
    bonus_text: str | None = None
    denominations: str | None = None
    starts_at: datetime
    ends_at: datetime


class ProductOut(BaseModel):
    """A product: ``fixed`` carries ``local_value`` and ``price``, ``range`` the bounds."""

    id: str
    operator_id: str
    kind: Literal["fixed", "range"]
    # An addition to the contract: topup, voucher, calling_card or plan (see ProductType).
    type: ProductType = ProductType.topup
    local_value: AmountOut | None = None
    price: AmountOut | None = None
    local_min: AmountOut | None = None
    local_max: AmountOut | None = None
    local_step: AmountOut | None = None
    price_min: AmountOut | None = None
    price_max: AmountOut | None = None
    description: str
    # An addition to the contract: the operator's promotion running now, if any.
    promotion: ProductPromotionOut | None = None


class CountryList(BaseModel):
    data: list[CountryOut]
    next_cursor: str | None = None


class OperatorList(BaseModel):
    data: list[OperatorOut]
    next_cursor: str | None = None


class ProductList(BaseModel):
    data: list[ProductOut]
    next_cursor: str | None = None


# ---- operator promotions ------------------------------------------------------------------


def _plausible(moment: datetime) -> datetime:
    # Checked on the year before any conversion: year 1 at +14:00 has no UTC equivalent.
    if not 2000 <= moment.year <= 2100:
        raise ValueError("a promotion's time must fall between the years 2000 and 2100")
    return moment


# A time with its UTC offset: without one, nobody could tell when the promotion starts.
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]
BonusPercent = Annotated[StrictInt, Field(ge=1, le=1000)]
ProductIds = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=80)]], Field(min_length=1, max_length=100)
]


class PromotionIn(_Strict):
    """An operator promotion entered by hand (``POST /v1/admin/operator-promotions``)."""

    operator_id: Annotated[str, Field(min_length=1, max_length=64)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] = ""
    bonus_percent: BonusPercent | None = None
    bonus_text: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    denominations: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    product_ids: ProductIds | None = None
    starts_at: Moment
    ends_at: Moment
    enabled: bool = True


class PromotionPatch(_Strict):
    """What an admin changes; a field left out stays. A supplier's promotion takes only
    ``enabled``: its other fields come back from the supplier at the next sync."""

    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    bonus_percent: BonusPercent | None = None
    bonus_text: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    denominations: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    product_ids: ProductIds | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    enabled: bool | None = None


class PromotionOut(BaseModel):
    id: str
    operator_id: str
    supplier: str
    supplier_promotion_id: str
    title: str
    description: str
    bonus_percent: int | None
    bonus_text: str | None
    denominations: str | None
    product_ids: list[str] | None
    starts_at: datetime
    ends_at: datetime
    enabled: bool
    withdrawn_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PromotionListOut(BaseModel):
    data: list[PromotionOut]
    next_cursor: str | None = None
