"""The order row is the order's state machine and its recovery point.

Each step of the lifecycle moves ``status`` in a small transaction; ``due_at`` says when the
worker should next look at the order (it doubles as a lease: a worker that claims the
order pushes it forward, so a crashed worker's order falls due again by itself).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from topup.catalogue.models import ProductType
from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class OrderStatus(StrEnum):
    created = "created"
    authorized = "authorized"
    submitted = "submitted"
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    declined = "declined"
    rejected = "rejected"
    review = "review"


ACTIVE_STATUSES = (
    OrderStatus.created,
    OrderStatus.authorized,
    OrderStatus.submitted,
    OrderStatus.pending,
    OrderStatus.review,  # waits for a decision, or for its deadline to reject it
)


class PaymentStatus(StrEnum):
    none = "none"
    authorized = "authorized"
    captured = "captured"
    voided = "voided"
    declined = "declined"


class PaymentMethod(StrEnum):
    card = "card"
    wallet = "wallet"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_created", "customer_id", "created_at", "id"),
        Index("ix_orders_status_due", "status", "due_at"),
        Index("ix_orders_recipient_created", "recipient_phone", "created_at"),
        Index("ix_orders_card_created", "card_fingerprint", "created_at"),
        # Refund requests reserve money here: never more than the price that was paid.
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= price_amount", name="refunds_within_price"
        ),
        CheckConstraint("discount_amount >= 0", name="discount_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(12))
    recipient_phone: Mapped[str | None] = mapped_column(String(16))
    country_iso2: Mapped[str] = mapped_column(String(2))
    operator_id: Mapped[str] = mapped_column(String(64))
    operator_name: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[str] = mapped_column(String(80))
    # What kind of product was bought (catalogue.models.ProductType): its refund policy
    # is chosen by it.
    product_type: Mapped[str] = mapped_column(
        String(20), default=ProductType.topup.value, server_default=ProductType.topup.value
    )
    # Snapshots taken when the order was placed: later catalogue changes do not touch them.
    local_amount: Mapped[int] = mapped_column(BigInteger)
    local_currency: Mapped[str] = mapped_column(String(3))
    # EUR cents, fee and VAT included: what the customer pays (a discount already taken off).
    price_amount: Mapped[int] = mapped_column(BigInteger)
    # How the list price splits, in EUR cents: supplier cost + service fee + VAT = price
    # (+ the discount, if a promo code took one off).
    cost_amount: Mapped[int] = mapped_column(BigInteger)
    fee_amount: Mapped[int] = mapped_column(BigInteger)
    vat_amount: Mapped[int] = mapped_column(BigInteger)
    # A promo code's discount, EUR cents (topup/promotions): ``price_amount`` stays what
    # the customer pays, so holds, captures, refunds and limits all see money really paid,
    # and cost + fee + VAT = price_amount + discount_amount (the list price).
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    promo_code_id: Mapped[str | None] = mapped_column(ForeignKey("promo_codes.id"))
    # The code as applied, kept on the order so its JSON needs no second query.
    promo_code: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(String(30))
    payment_method: Mapped[str] = mapped_column(String(8))
    card_id: Mapped[str | None] = mapped_column(String(40))
    card_token: Mapped[str | None] = mapped_column(String(120))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    card_brand: Mapped[str | None] = mapped_column(String(12))
    card_fingerprint: Mapped[str | None] = mapped_column(String(64))
    card_country: Mapped[str | None] = mapped_column(String(2))
    # What the risk checks decided when the order was placed (the audit log says why).
    risk_outcome: Mapped[str] = mapped_column(String(8), default="allow")
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    # A support user's decision on an order held for review: "approved" or "rejected".
    review_decision: Mapped[str | None] = mapped_column(String(8))
    payment_status: Mapped[str] = mapped_column(String(12))
    # EUR cents that refund requests have claimed (requested, approved or paid); a
    # rejected request gives its part back. One guarded UPDATE keeps two racing requests
    # from claiming the same money.
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    gateway_reference: Mapped[str | None] = mapped_column(String(80))
    hold_transfer_id: Mapped[str | None] = mapped_column(String(40))
    supplier_transaction_id: Mapped[str | None] = mapped_column(String(80))
    failure_code: Mapped[str | None] = mapped_column(String(40))
    failure_message: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
