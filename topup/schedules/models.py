"""A schedule (an auto top-up) and its runs.

The schedule row is its own queue entry (DESIGN §2): ``due_at`` says when the worker
should look at it next (the next due date, a retry, or a check on the order of a run in
flight) and doubles as the lease. ``next_run_at`` is the due date itself, the one the
customer sees and the one the run's idempotency key is made of.

A run row is written *before* its order is placed (the intent) and is unique per due date
and attempt: two workers, or a worker restarted after a crash, find it and place the
order under the same idempotency key, which gives back the order already placed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class ScheduleStatus(StrEnum):
    active = "active"
    paused = "paused"
    cancelled = "cancelled"


class PauseReason(StrEnum):
    customer = "customer"  # the customer paused it
    payment_failed = "payment_failed"  # the card was declined (or blocked)
    topup_failed = "topup_failed"  # the operator did not deliver
    limit_exceeded = "limit_exceeded"  # a limit or a fraud rule refused the orders
    operator_changed = "operator_changed"  # the number moved to another operator
    card_not_found = "card_not_found"  # the saved card was removed
    product_unavailable = "product_unavailable"  # the product is no longer sold
    recipient_unavailable = "recipient_unavailable"  # postpaid now, or no longer served
    account_restricted = "account_restricted"  # blocked, or details missing for the market


class RunOutcome(StrEnum):
    placing = "placing"  # the intent: the order is being placed under the run's key
    placed = "placed"  # the order exists and is moving
    succeeded = "succeeded"
    failed = "failed"
    declined = "declined"
    rejected = "rejected"
    refused = "refused"  # the placement was refused with an error: no order


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (
        Index("ix_schedules_customer_created", "customer_id", "created_at", "id"),
        Index("ix_schedules_status_due", "status", "due_at"),
        CheckConstraint("status IN ('active', 'paused', 'cancelled')", name="status_known"),
        CheckConstraint(
            "(every = 'monthly') = (day_of_month IS NOT NULL)", name="day_only_when_monthly"
        ),
        CheckConstraint("day_of_month BETWEEN 1 AND 31", name="day_of_month_in_range"),
        CheckConstraint("local_amount > 0 AND failed_attempts >= 0", name="figures"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(10))
    # Erased (None) with the account, as the rest of its personal data.
    recipient_phone: Mapped[str | None] = mapped_column(String(16))
    country_iso2: Mapped[str] = mapped_column(String(2))
    # The operator the lookup named when the schedule was made (or its product last
    # changed): a run that finds another one pauses instead of paying for the wrong one.
    operator_id: Mapped[str] = mapped_column(String(64))
    operator_name: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[str] = mapped_column(String(80))
    local_amount: Mapped[int] = mapped_column(BigInteger)  # minor units of local_currency
    local_currency: Mapped[str] = mapped_column(String(3))
    card_id: Mapped[str] = mapped_column(String(40))
    card_last4: Mapped[str] = mapped_column(String(4))
    card_brand: Mapped[str] = mapped_column(String(12))
    every: Mapped[str] = mapped_column(String(8))
    day_of_month: Mapped[int | None] = mapped_column(Integer)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the worker looks next; None once cancelled or paused (nothing to do).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_code: Mapped[str | None] = mapped_column(String(40))
    # The order of the attempt in flight, followed until it ends.
    current_order_id: Mapped[str | None] = mapped_column(String(40))
    last_order_id: Mapped[str | None] = mapped_column(String(40))
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pause_reason: Mapped[str | None] = mapped_column(String(24))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduleRun(Base):
    __tablename__ = "schedule_runs"
    __table_args__ = (
        # One attempt per due date and attempt number, whatever races or crashes.
        UniqueConstraint("schedule_id", "due_at", "attempt", name="uq_schedule_runs_attempt"),
        UniqueConstraint("order_id", name="uq_schedule_runs_order_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempt: Mapped[int] = mapped_column(Integer)  # 0, then 1, 2 for the retries
    idempotency_key: Mapped[str] = mapped_column(String(255))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    outcome: Mapped[str] = mapped_column(String(10))
    failure_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
