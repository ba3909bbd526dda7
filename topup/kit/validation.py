"""Turning Pydantic's validation errors into Topup's single error body.

Clients get one stable ``code`` and the ``field`` concerned (dotted, without the
``body``/``query`` prefix), never a list of framework internals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from topup.kit.errors import InvalidInput

_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def describe_validation_error(errors: Sequence[Any]) -> InvalidInput:
    first = errors[0] if errors else {"loc": (), "type": "value_error", "msg": "invalid"}
    location = [str(part) for part in first.get("loc", ())]
    if location and location[0] in _LOCATIONS:
        location = location[1:]
    field = ".".join(location) or None
    kind = first.get("type", "")
    if kind == "missing":
        return InvalidInput(f"{field or 'A value'} is required.", code="missing_field", field=field)
    if kind == "json_invalid":
        return InvalidInput("The body is not valid JSON.", code="invalid_json", field=None)
    message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    return InvalidInput(
        f"{field}: {message}" if field else message, code="invalid_field", field=field
    )
