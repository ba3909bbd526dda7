"""``/v1/wallet`` shapes (API.md, "Wallet and refunds")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from topup.kit.schemas import AmountOut
from topup.payments.schemas import CardIn


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EuroAmountIn(_Body):
    # Strict: only a JSON integer is money; `true`, "5" and 5.0 are refused.
    amount: Annotated[StrictInt, Field(gt=0, lt=10**15)]
    currency: Literal["EUR"]


class FundingPaymentIn(_Body):
    card_id: Annotated[str, Field(max_length=40)] | None = None
    card: CardIn | None = None

    @model_validator(mode="after")
    def exactly_one_card(self) -> FundingPaymentIn:
        if (self.card_id is None) == (self.card is None):
            raise ValueError("give exactly one of card_id or card")
        return self


class FundIn(_Body):
    amount: EuroAmountIn
    payment: FundingPaymentIn


class WalletOut(BaseModel):
    balance: AmountOut
    pending: AmountOut
    # Topup's additions: what can be spent now, and whether a block froze the wallet.
    available: AmountOut
    frozen: bool


class WalletLineOut(BaseModel):
    id: str
    kind: str  # funding | order_payment | refund | balance_given_up
    amount: AmountOut  # signed: money in is positive
    order_id: str | None = None
    status: str  # Topup's addition: "pending" for a hold, "posted" once the money moved
    created_at: datetime


class WalletLineList(BaseModel):
    data: list[WalletLineOut]
    next_cursor: str | None = None
