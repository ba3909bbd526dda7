"""Stored idempotency keys (DESIGN.md §5), kept per customer for at least 72 hours."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class KeyState(StrEnum):
    in_flight = "in_flight"  # a request holds the key and is still working
    done = "done"  # the answer is stored and is replayed to every retry


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Which operation and which body the key was first used for (HMAC-SHA256 hex).
    scope: Mapped[str] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))
    # Until when the in-flight holder owns the key; after it, a crashed holder is presumed
    # dead and a retry may take the key over (its work never committed, see service.py).
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime)
    # The fencing token of the claim that holds the key now: each claim, new or a takeover,
    # writes a fresh one, and only the holder of this token may complete or release the
    # key. Keys stored before revision 0013 carry "", which no claim's token matches.
    claim_token: Mapped[str] = mapped_column(String(32), server_default="")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
