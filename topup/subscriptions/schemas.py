"""``/v1/plans`` and ``/v1/subscriptions`` shapes (Topup's additions to API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from topup.kit.schemas import AmountOut
from topup.orders.schemas import OperatorRefOut
from topup.payments.schemas import CardIn

# Every plan is billed on the 1st of each month, 00:00 UTC.
Billing = Literal["monthly_on_the_1st"]
BILLING: Billing = "monthly_on_the_1st"


class PlanOut(BaseModel):
    id: str
    operator: OperatorRefOut
    country: str
    local_value: AmountOut
    price: AmountOut
    description: str
    billing: Billing


class PlanList(BaseModel):
    data: list[PlanOut]
    next_cursor: str | None = None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionIn(_Body):
    plan_id: Annotated[str, Field(max_length=80)]
    recipient_phone: Annotated[str, Field(max_length=64)]
    # A saved card, or a new one: a new card is saved, since every renewal is charged to it.
    card_id: Annotated[str, Field(max_length=40)] | None = None
    card: CardIn | None = None

    @model_validator(mode="after")
    def exactly_one_card(self) -> SubscriptionIn:
        if (self.card_id is None) == (self.card is None):
            raise ValueError("give exactly one of card_id or card")
        return self


class CardChangeIn(_Body):
    card_id: Annotated[str, Field(max_length=40)]


class ChargeOut(BaseModel):
    cycle: str
    attempt: int
    renewal: bool
    order_id: str | None
    status: str
    failure_code: str | None
    created_at: datetime


class SubscriptionOut(BaseModel):
    id: str
    status: str
    plan_id: str
    operator: OperatorRefOut
    recipient_phone: str
    price: AmountOut
    local_value: AmountOut
    billing: Billing
    card_id: str | None
    card_last4: str | None
    current_cycle: str
    current_period_start: datetime
    current_period_end: datetime
    next_charge_at: datetime | None
    cancelled_at: datetime | None
    service_ends_at: datetime | None
    # The moment the supplier confirmed it stopped the plan's bundle (the refund counts
    # from it); null while the service runs or until the supplier has answered.
    service_ended_confirmed_at: datetime | None = None
    failure_code: str | None
    ended_reason: str | None
    charges: list[ChargeOut]
    created_at: datetime
    updated_at: datetime


class SubscriptionList(BaseModel):
    data: list[SubscriptionOut]
    next_cursor: str | None = None
