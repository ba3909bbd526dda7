"""``/v1/orders`` shapes (API.md, "Orders")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from topup.kit.schemas import AmountOut
from topup.payments.schemas import CardIn
from topup.pins.schemas import PinOut


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AmountIn(_Body):
    # Strict: only a JSON integer is money; `true`, "5" and 5.0 are refused.
    amount: Annotated[StrictInt, Field(gt=0, lt=10**15)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class PaymentIn(_Body):
    card_id: Annotated[str, Field(max_length=40)] | None = None
    card: CardIn | None = None
    save_card: bool = False
    wallet: bool | None = None

    @model_validator(mode="after")
    def exactly_one_method(self) -> PaymentIn:
        chosen = [self.card_id is not None, self.card is not None, bool(self.wallet)]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of card_id, card or wallet")
        return self


class OrderIn(_Body):
    recipient_phone: Annotated[str, Field(max_length=64)]
    product_id: Annotated[str, Field(max_length=80)]
    amount: AmountIn | None = None
    payment: PaymentIn
    message: Annotated[str, Field(max_length=200)] | None = None
    confirm_duplicate: bool = False
    # Topup's addition: a promo code (any case); refused with a promo_code_* error.
    promo_code: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class OperatorRefOut(BaseModel):
    id: str
    name: str


class OrderPaymentOut(BaseModel):
    method: str
    status: str
    card_last4: str | None = None


class OrderOut(BaseModel):
    id: str
    status: str
    recipient_phone: str | None
    operator: OperatorRefOut
    product_id: str
    local_value: AmountOut
    price: AmountOut
    message: str | None
    payment: OrderPaymentOut
    failure_code: str | None = None
    # Topup's addition: for a rejected order, the rule in words ("Limit reached: …").
    failure_message: str | None = None
    created_at: datetime
    updated_at: datetime
    # Topup's additions for PIN products: what the product is ("topup", "voucher",
    # "calling_card", "plan"), and a delivered PIN, in the answer of GET /v1/orders/{id}
    # only (never in the list, nor in a stored idempotent answer).
    product_type: str = "topup"
    pin: PinOut | None = None
    # True when the order has a PIN that cannot be opened now (the service's secret key
    # changed): ``pin`` is then null and support can reissue it; the order itself stands.
    pin_unavailable: bool = False
    # Topup's additions: the promo code applied and its discount (``price`` is what was
    # paid, the discount already taken off).
    discount: AmountOut | None = None
    promo_code: str | None = None


class OrderList(BaseModel):
    data: list[OrderOut]
    next_cursor: str | None = None


class RepeatIn(BaseModel):
    """The optional body of POST /v1/orders/{id}/repeat (Topup's addition)."""

    model_config = ConfigDict(extra="forbid")

    confirm_duplicate: bool = False
