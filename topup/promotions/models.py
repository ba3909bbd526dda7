"""Promo codes, how often each customer has used one, and each order's redemption.

Two counters guard the limits, each moved by one guarded UPDATE so that racing orders can
never pass them, on SQLite as on PostgreSQL: ``promo_codes.redeemed`` (against
``max_redemptions``) and ``promo_customer_uses.uses`` (against ``per_customer_limit``). A
redemption row per order says whether its use is still ``reserved``, was ``used`` (the
order was delivered) or ``released`` (the order ended without delivering, and the counters
were given back once, guarded by this status).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import DecimalText, UTCDateTime


class DiscountKind(StrEnum):
    percent = "percent"
    fixed = "fixed"


class RedemptionStatus(StrEnum):
    reserved = "reserved"  # the order is under way
    used = "used"  # the order was delivered: the use counts for good
    released = "released"  # the order ended without delivering: the use was given back


class PromoCode(Base):
    __tablename__ = "promo_codes"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'percent' AND percent_off IS NOT NULL AND amount_off IS NULL)"
            " OR (kind = 'fixed' AND amount_off > 0 AND percent_off IS NULL)",
            name="one_discount",
        ),
        CheckConstraint("valid_from < valid_until", name="validity_ordered"),
        CheckConstraint(
            "max_redemptions IS NULL OR max_redemptions > 0", name="max_redemptions_positive"
        ),
        CheckConstraint("per_customer_limit > 0", name="per_customer_limit_positive"),
        # The last line of defence behind the guarded UPDATE: never more uses than allowed.
        CheckConstraint(
            "redeemed >= 0 AND (max_redemptions IS NULL OR redeemed <= max_redemptions)",
            name="redeemed_within_limit",
        ),
        Index("ix_promo_codes_created", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Stored upper-case: customers type codes in any case, and one spelling is one code.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    # Percent off the list price (0 < p <= 100), exact: a text column on both databases.
    percent_off: Mapped[Decimal | None] = mapped_column(DecimalText)
    amount_off: Mapped[int | None] = mapped_column(BigInteger)  # EUR cents
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)  # None: no total limit
    per_customer_limit: Mapped[int] = mapped_column(Integer, default=1)
    # Uses reserved or used: orders under way count, so the last use cannot be taken twice.
    redeemed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Restrictions: an empty list allows everything.
    product_ids: Mapped[list[Any]] = mapped_column(JSON)
    operator_ids: Mapped[list[Any]] = mapped_column(JSON)
    country_iso2s: Mapped[list[Any]] = mapped_column(JSON)
    product_types: Mapped[list[Any]] = mapped_column(JSON)
    min_price: Mapped[int | None] = mapped_column(BigInteger)  # EUR cents of list price
    # A code issued to one account: nobody else may use it.
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PromoCustomerUse(Base):
    """How many uses of a code one customer holds (reserved or used)."""

    __tablename__ = "promo_customer_uses"
    __table_args__ = (CheckConstraint("uses >= 0", name="uses_not_negative"),)

    promo_code_id: Mapped[str] = mapped_column(ForeignKey("promo_codes.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class PromoRedemption(Base):
    """One order's use of a code: tied to the customer and the order, never transferable."""

    __tablename__ = "promo_redemptions"
    __table_args__ = (
        CheckConstraint("discount_amount > 0", name="discount_positive"),
        CheckConstraint("status IN ('reserved', 'used', 'released')", name="status_known"),
        Index("ix_promo_redemptions_code_status", "promo_code_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    promo_code_id: Mapped[str] = mapped_column(ForeignKey("promo_codes.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True)
    discount_amount: Mapped[int] = mapped_column(BigInteger)  # EUR cents
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
