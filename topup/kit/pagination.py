"""Keyset pages: a cursor is the (created_at, id) of the last row shown, opaque to clients.

Never OFFSET: a page deep in a long list costs the same as the first.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from topup.kit.errors import InvalidInput


def encode_cursor(created_at: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        created, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None:  # every cursor we give carries its UTC offset
            raise ValueError("a cursor time without an offset")
        return moment.astimezone(UTC), row_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "This cursor is not one we gave.", code="invalid_cursor", field="cursor"
        ) from None
