"""``/v1/refund-requests`` and the staff side's shapes (API.md, "Wallet and refunds")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from topup.kit.schemas import AmountOut
from topup.refunds.policy import Destination
from topup.wallet.schemas import EuroAmountIn


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: Annotated[str, Field(pattern=r"^ord_[0-9a-f]{32}$")]
    amount: EuroAmountIn | None = None  # left out: as much as the policy allows
    reason: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    destination: Destination
    details: Annotated[str, Field(max_length=500)] | None = None


class RefundPreviewOut(BaseModel):
    refundable: bool
    amount: AmountOut | None
    fee: AmountOut | None
    net: AmountOut | None
    destination: Destination
    answer_by: datetime | None
    rule: str | None  # the rule that refused it; None when it may be asked for
    message: str | None = None  # Topup's addition: the refusal in words


class RefundRequestOut(BaseModel):
    id: str
    order_id: str
    status: str
    amount: AmountOut
    fee: AmountOut
    net: AmountOut
    destination: str
    answer_by: datetime
    created_at: datetime
    # Topup's additions.
    reason: str
    approval: str
    decision_reason: str | None = None
    pay_by: datetime | None = None
    paid_at: datetime | None = None


class RefundRequestList(BaseModel):
    data: list[RefundRequestOut]
    next_cursor: str | None = None


class StaffRefundRequestOut(RefundRequestOut):
    customer_id: str
    details: str | None = None
    overdue: bool  # still unanswered past its answer date


class StaffRefundRequestList(BaseModel):
    data: list[StaffRefundRequestOut]
    next_cursor: str | None = None


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(max_length=200)] | None = None


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=200)]


class RefundPolicyOut(BaseModel):
    product_type: str
    version: int
    updated_by: str | None
    updated_at: datetime
    policy: dict[str, object]
