"""The PIN in an order's answer, and the sandbox's calling-card shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from topup.kit.schemas import AmountOut


class PinOut(BaseModel):
    """A delivered voucher's or calling card's PIN, shown to the order's owner only."""

    code: str
    serial: str
    # A calling card: what is left now, as the supplier reports it (null when it cannot
    # be asked), and what it started with.
    balance: AmountOut | None = None
    original_balance: AmountOut | None = None
    access_number: str | None = None
    instructions: str | None = None


class CardUseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Strict: only a JSON integer is money.
    amount: Annotated[StrictInt, Field(gt=0, lt=10**15)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class CardBalanceOut(BaseModel):
    balance: AmountOut
    original_balance: AmountOut
