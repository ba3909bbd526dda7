"""A wallet funding: one card payment that credits the wallet, and its recovery point.

The balance itself is not here: it is the customer's ``wallet`` account in the ledger,
whose balances are kept on the account row. A funding row only drives the card payment
(authorize, then capture, then the ledger credit) so that a crash at any step is resumed by
the worker and nothing is charged or credited twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class FundingStatus(StrEnum):
    created = "created"  # nothing asked of the gateway yet
    authorized = "authorized"  # the card holds the amount; capture and credit follow
    credited = "credited"  # captured, and the wallet holds the money
    declined = "declined"  # the card was refused; nothing moved


OPEN_FUNDING_STATUSES = (FundingStatus.created, FundingStatus.authorized)


class WalletFunding(Base):
    __tablename__ = "wallet_fundings"
    __table_args__ = (
        # The customer's Idempotency-Key names the funding: a retried request finds it.
        UniqueConstraint("customer_id", "idempotency_key", name="uq_wallet_fundings_key"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_wallet_fundings_status_due", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)  # EUR cents
    status: Mapped[str] = mapped_column(String(12))
    card_id: Mapped[str | None] = mapped_column(String(40))
    card_token: Mapped[str] = mapped_column(String(120))
    card_last4: Mapped[str] = mapped_column(String(4))
    gateway_reference: Mapped[str | None] = mapped_column(String(80))
    decline_code: Mapped[str | None] = mapped_column(String(40))
    # When the worker should look at an open funding: a lease, as on orders.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
