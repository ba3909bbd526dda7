"""Pydantic shapes shared by every domain's HTTP answers."""

from __future__ import annotations

from pydantic import BaseModel


class AmountOut(BaseModel):
    """An amount in integer minor units with its ISO 4217 currency."""

    amount: int
    currency: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
