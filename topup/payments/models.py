"""Saved cards: only the gateway's token, the brand, the last four digits, the expiry and
the gateway's fingerprint. The number and the security code are never stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class SavedCard(Base):
    __tablename__ = "saved_cards"
    __table_args__ = (Index("ix_saved_cards_customer_created", "customer_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    gateway_token: Mapped[str] = mapped_column(String(120))
    brand: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    # The gateway's keyed hash of the number: the same card on several accounts shows.
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    country: Mapped[str | None] = mapped_column(String(2))  # where the card was issued
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
