"""The supplier simulator's own records, kept in the database so that every Topup process
(API nodes, workers) talks to one and the same simulated supplier, as they would to the
real one. Nothing of Topup's own domains reads this table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class SimulatedTopup(Base):
    __tablename__ = "simulator_topups"

    # The caller's reference is the key: a second send with it finds the first top-up.
    reference: Mapped[str] = mapped_column(String(80), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(40), unique=True)
    e164: Mapped[str] = mapped_column(String(16))
    operator_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    scenario: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(12))
    status_checks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
