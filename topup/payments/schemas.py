"""``/v1/cards`` shapes (API.md, "Cards")."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[str, Field(max_length=32)]
    # Strict: only a JSON integer is a month or a year; `true`, "5" and 5.0 are refused.
    # The storefront's card form does not come through here: it reads its own digits.
    exp_month: Annotated[StrictInt, Field(ge=1, le=12)]
    exp_year: Annotated[StrictInt, Field(ge=2000, le=2100)]
    cvc: Annotated[str, Field(max_length=8)]


class CardOut(BaseModel):
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class CardList(BaseModel):
    data: list[CardOut]
    next_cursor: str | None = None
