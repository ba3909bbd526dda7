"""Risk rules as data, the blocks staff and rules place, and the audit log of decisions.

Rules are rows, loaded from ``data/defaults.json`` into an empty database and edited
through the admin API afterwards, so a limit changes without a release.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class LimitScope(StrEnum):
    customer = "customer"  # everything one account buys
    recipient = "recipient"  # everything sent to one number, by anyone
    card = "card"  # everything paid with one card (its fingerprint), on any account


class Outcome(StrEnum):
    allow = "allow"
    review = "review"
    reject = "reject"


class LimitRule(Base):
    """At most ``max_count`` orders and/or ``max_amount`` EUR cents within any rolling
    ``window_seconds``, per ``scope``; only orders to ``market`` when one is named."""

    __tablename__ = "limit_rules"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    market: Mapped[str | None] = mapped_column(String(2))
    window_seconds: Mapped[int] = mapped_column(Integer)
    max_count: Mapped[int | None] = mapped_column(Integer)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MarketRule(Base):
    """Who may buy for a destination market: a minimum age, residence in the country."""

    __tablename__ = "market_rules"

    market: Mapped[str] = mapped_column(String(2), primary_key=True)
    min_age: Mapped[int | None] = mapped_column(Integer)
    residence_required: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FraudSignalRule(Base):
    """One fraud signal's weight and parameters; the score is the sum of fired weights."""

    __tablename__ = "fraud_signal_rules"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    weight: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskThresholds(Base):
    """One row: a score from ``review_score`` is held for review, from ``reject_score``
    refused."""

    __tablename__ = "risk_thresholds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_score: Mapped[int] = mapped_column(Integer)
    reject_score: Mapped[int] = mapped_column(Integer)
    # The same customer and number within this many seconds needs confirm_duplicate.
    duplicate_window_seconds: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CardBlock(Base):
    """A card (by the gateway's fingerprint) that may not pay, with who blocked it and why."""

    __tablename__ = "card_blocks"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    blocked_by: Mapped[str] = mapped_column(String(40))  # a staff id, or "system"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskDecision(Base):
    """The audit log: one row per decision, never changed: which rule or who, on what
    inputs, with what score and outcome."""

    __tablename__ = "risk_decisions"
    __table_args__ = (
        Index("ix_risk_decisions_order", "order_id", "created_at"),
        Index("ix_risk_decisions_customer", "customer_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # order, review, block, unblock, rule
    order_id: Mapped[str | None] = mapped_column(String(40))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    rule_id: Mapped[str | None] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(40))  # "system" or a staff customer id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskLock(Base):
    """A row per customer, recipient and card to lock while an order is checked, so
    concurrent orders are checked one after another (a conditional UPDATE takes the row
    lock on PostgreSQL and the write lock on SQLite)."""

    __tablename__ = "risk_locks"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime)
