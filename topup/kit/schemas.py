"""Pydantic shapes shared by every domain's HTTP answers."""

from __future__ import annotations

from typing import Any

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


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring the error body for each status an endpoint can give."""
    return {status: {"model": ErrorBody} for status in status_codes}
