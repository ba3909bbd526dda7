"""A subscription to a monthly plan, and each charge made for it.

The subscription row is its own queue entry (DESIGN §2): ``due_at`` says when the worker
should next look at it (the next 1st, a retry, or shortly while a charge's order is in
flight), and doubles as the lease. A charge row is written in the same transaction as
the order it places, and (subscription, cycle, attempt) is unique: two workers, or a
worker run again after a crash, can never charge the same cycle twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class SubscriptionStatus(StrEnum):
    incomplete = "incomplete"  # the first charge's order is in flight
    active = "active"
    past_due = "past_due"  # a renewal failed; it is retried
    suspended = "suspended"  # the retries ran out: the service stopped, a new card resumes it
    cancelled = "cancelled"
    incomplete_expired = "incomplete_expired"  # the first charge failed: it never started


# Subscriptions that hold their recipient and plan: a second one for them is refused.
OPEN_STATUSES = (
    SubscriptionStatus.incomplete,
    SubscriptionStatus.active,
    SubscriptionStatus.past_due,
    SubscriptionStatus.suspended,
)


class ChargeStatus(StrEnum):
    placed = "placed"  # its order is in flight
    succeeded = "succeeded"
    failed = "failed"  # the order failed, or it was refused before an order existed


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_customer_created", "customer_id", "created_at", "id"),
        Index("ix_subscriptions_due_at", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(20))
    plan_id: Mapped[str] = mapped_column(String(80))
    operator_id: Mapped[str] = mapped_column(String(64))
    operator_name: Mapped[str] = mapped_column(String(100))
    recipient_phone: Mapped[str] = mapped_column(String(16))
    # What the last charge cost and gave: each charge is at the catalogue's price of its day.
    price_amount: Mapped[int] = mapped_column(BigInteger)
    local_amount: Mapped[int] = mapped_column(BigInteger)
    local_currency: Mapped[str] = mapped_column(String(3))
    card_id: Mapped[str | None] = mapped_column(String(40))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    # Set while the subscription is open, NULL once it ended: unique, so one customer
    # cannot hold two open subscriptions of one plan for one number (NULLs never clash).
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # The cycle ("YYYY-MM") being served, and its period.
    cycle: Mapped[str] = mapped_column(String(7))
    current_period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    current_period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    # The next charge to make: when, for which cycle, which attempt. None: no more charges.
    next_charge_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_cycle: Mapped[str | None] = mapped_column(String(7))
    next_attempt: Mapped[int] = mapped_column(Integer, default=0)
    pending_order_id: Mapped[str | None] = mapped_column(String(40))
    last_order_id: Mapped[str | None] = mapped_column(String(40))
    failure_code: Mapped[str | None] = mapped_column(String(40))
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    service_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Telling the supplier the service stopped (a queue of its own, beside ``due_at``): the
    # charge order whose bundle is to end, when the worker next asks (the lease, then the
    # backoff), how often it asked, and the moment the supplier says it stopped the bundle.
    service_end_order_id: Mapped[str | None] = mapped_column(String(40))
    service_end_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    service_end_attempts: Mapped[int] = mapped_column(Integer, default=0)
    service_ended_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every change locks the row first (SubscriptionRepository.subscription); the version
    # is the second guard: an UPDATE from a stale read matches no row and fails instead of
    # overwriting a cancellation or a charge.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it once)


class SubscriptionCharge(Base):
    __tablename__ = "subscription_charges"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "cycle", "attempt", name="uq_subscription_charges_attempt"
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    cycle: Mapped[str] = mapped_column(String(7))
    attempt: Mapped[int] = mapped_column(Integer)
    # subscription:{id}:{cycle}, with :retry{n} for a retry: the charge's name in logs
    # and on its order's trail; unique like the (cycle, attempt) it spells.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    # Any charge after the first cycle's: taken because nobody cancelled, not refundable.
    renewal: Mapped[bool] = mapped_column(Boolean)
    order_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(12))
    failure_code: Mapped[str | None] = mapped_column(String(40))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
