"""``/v1/schedules`` shapes (API.md, "Recurring top-ups")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from topup.kit.schemas import AmountOut
from topup.orders.schemas import AmountIn, OperatorRefOut
from topup.schedules.dates import Every


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleIn(_Body):
    recipient_phone: Annotated[str, Field(max_length=64)]
    product_id: Annotated[str, Field(max_length=80)]
    amount: AmountIn | None = None  # range products: the local value wanted
    card_id: Annotated[str, Field(max_length=40)]
    every: Every
    # Monthly only: the day of each month (31 is the month's last day where it is shorter).
    day_of_month: Annotated[StrictInt, Field(ge=1, le=31)] | None = None
    # Topup's addition: when the first top-up goes (up to a year ahead); left out, now.
    first_run_at: AwareDatetime | None = None


class ScheduleChangeIn(_Body):
    """PATCH: a new saved card, or a new product (and amount) for the number's operator."""

    card_id: Annotated[str, Field(max_length=40)] | None = None
    product_id: Annotated[str, Field(max_length=80)] | None = None
    amount: AmountIn | None = None


class ScheduleCardOut(BaseModel):
    id: str
    brand: str
    last4: str


class LastRunOut(BaseModel):
    order_id: str | None  # None when the attempt was refused before any order
    status: str | None  # the order's status now; None without an order
    failure_code: str | None
    at: datetime | None


class ScheduleOut(BaseModel):
    id: str
    status: str
    every: str
    next_run_at: datetime | None  # None while paused or cancelled
    # Topup's additions.
    day_of_month: int | None
    recipient_phone: str | None
    operator: OperatorRefOut
    product_id: str
    local_value: AmountOut
    price: AmountOut | None  # what the next run costs today; None if no longer sold
    card: ScheduleCardOut
    pause_reason: str | None
    paused_at: datetime | None
    failed_attempts: int
    retry_at: datetime | None  # when a failed run is tried again
    last_run: LastRunOut | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ScheduleList(BaseModel):
    data: list[ScheduleOut]
    next_cursor: str | None = None
