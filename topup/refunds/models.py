"""Refund policies as stored rows, and refund requests with their state.

``requested → approved | rejected``, then ``approved → paid``. A request keeps the figures
it was quoted (amount, fee, net) and the policy version they came from, so a later policy
change never alters a request already made. The one exception is a calling card: closed at
the supplier before it is paid, its request comes down to what the close reported (never
up), or ``approved → rejected`` when nothing was left.
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
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class RefundStatus(StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    paid = "paid"


class RefundPolicyRow(Base):
    __tablename__ = "refund_policies"

    product_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    document: Mapped[str] = mapped_column(Text)  # the RefundPolicy as JSON
    version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str | None] = mapped_column(String(40))  # None: the shipped preset
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RefundRequest(Base):
    __tablename__ = "refund_requests"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key", name="uq_refund_requests_key"),
        CheckConstraint("amount > 0 AND fee >= 0 AND net = amount - fee", name="figures"),
        CheckConstraint(
            "status IN ('requested', 'approved', 'rejected', 'paid')", name="status_known"
        ),
        Index("ix_refund_requests_customer_created", "customer_id", "created_at", "id"),
        Index("ix_refund_requests_status_due", "status", "due_at"),
        Index("ix_refund_requests_status_created", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    product_type: Mapped[str] = mapped_column(String(20))
    policy_version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    details: Mapped[str | None] = mapped_column(String(500))
    destination: Mapped[str] = mapped_column(String(16))
    approval: Mapped[str] = mapped_column(String(10))  # automatic | manual
    # EUR cents: what is refunded, the policy's fee kept from it, and what reaches the
    # customer (amount - fee).
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    answer_by: Mapped[datetime] = mapped_column(UTCDateTime)
    pay_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it was rejected, or a note for support (the supplier reports it delivered).
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[str | None] = mapped_column(String(40))  # a staff id, or "system"
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the worker should act (an automatic check, or a payment); None: a person must.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
