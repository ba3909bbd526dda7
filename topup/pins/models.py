"""The PIN of each delivered voucher or calling card, sealed (``topup.kit.sealing``).

Kept because the buyer must find it again in their history; sealed because whoever reads
it can spend it. The code and the serial are the secret part; the starting balance, the
access number and the supplier's instructions are not, and stay readable for support.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class OrderPin(Base):
    __tablename__ = "order_pins"

    # One PIN per order: written with the order's success, in the same transaction.
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    code_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    serial_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # A calling card's starting balance in the local currency's minor units; what is left
    # of it lives at the supplier and is asked for when needed.
    original_balance: Mapped[int | None] = mapped_column(BigInteger)
    balance_currency: Mapped[str | None] = mapped_column(String(3))
    access_number: Mapped[str | None] = mapped_column(String(32))
    instructions: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
