"""The outbox: every message is a row written in the transaction of the event behind it.

If that transaction rolls back, no message exists; if it commits, the message cannot be
lost. In the sandbox the outbox itself is where messages arrive (``GET
/v1/sandbox/messages``); real email and SMS providers send from it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class Channel(StrEnum):
    sms = "sms"
    email = "email"


class MessageStatus(StrEnum):
    pending = "pending"  # waiting for its first or next attempt (``due_at``)
    sending = "sending"  # claimed by a worker until ``due_at``; then due again
    sent = "sent"
    dead = "dead"  # refused for good, or out of attempts; ``last_error`` says why


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_recipient_created", "recipient", "created_at"),
        Index("ix_outbound_messages_status_due", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    # E.164 phone or email address; NULL once erased with the account it belonged to.
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)  # an SMS, or an email's plain-text part
    html_body: Mapped[str | None] = mapped_column(Text)
    # At most one message per event: e.g. "ord_…:receipt". A repeated event finds it.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    segments: Mapped[int | None] = mapped_column(Integer)  # SMS parts it costs
    # What caused the message, e.g. "phone_verification", "password_reset".
    kind: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default=MessageStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Past this the message is worthless (a code or a link that no longer works): a
    # worker that finds it late ends it dead instead of sending it.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_reference: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(String(200))
