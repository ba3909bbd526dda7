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


# What each status means across the API; an endpoint's own codes are in its docstring.
_MEANINGS = {
    400: "The request breaks a rule of the operation (e.g. `invalid_code`)",
    401: "No valid bearer token (`unauthorized`), or wrong credentials",
    402: "The payment was refused (`insufficient_balance`, the card's decline code)",
    403: "This account may not do this (`forbidden`, `account_blocked`, …)",
    404: "No such resource (`not_found` and the resource's own code)",
    409: "The request conflicts with the resource's state (`conflict`, …)",
    408: "The body did not arrive in time; the connection is closed (`body_timeout`)",
    413: "The body is over 64 KiB (`body_too_large`)",
    422: "A value is missing or invalid (`missing_field`, `invalid_field`, `invalid_json`, …)",
    429: "Too many attempts; `Retry-After` says when to try again (`rate_limited`)",
    503: "The database or another dependency is not answering; retry (`service_unavailable`)",
}


def error_responses(
    *status_codes: int, dependencies: bool = True
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring Topup's error body for each status an endpoint can
    give. Declare only what the route can really answer: schemathesis checks every answer
    against this. Every route can answer 408 and 413 (the body limit is a middleware in
    front of them all); one that uses the database or the rate-limit store, 503 when it is down."""
    always = {408, 413, 503} if dependencies else {408, 413}
    return {
        status: {"model": ErrorBody, "description": _MEANINGS[status]}
        for status in sorted({*status_codes, *always})
    }
