"""The supplier simulator's own records, kept in the database so that every Topup process
(API nodes, workers) talks to one and the same simulated supplier, as they would to the
real one. Nothing of Topup's own domains reads this table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
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
    # A PIN product's PIN, issued with the record so every answer under the reference
    # repeats it. Sealed like Topup's own copy: this table shares Topup's database, and a
    # dump of it must not hand out PINs (a real supplier keeps them on its side).
    product_type: Mapped[str] = mapped_column(String(20), default="topup")
    pin_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    serial_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A calling card: when it was delivered (its use is counted from then) and what was
    # spent from it explicitly (POST /v1/sandbox/calling-cards/{order_id}/use).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    card_spent: Mapped[int] = mapped_column(BigInteger, default=0)


class SimulatedClosedCard(Base):
    """A calling card closed at the simulated supplier (Topup refunded it): its balance is
    0 from then on, and what was left when it closed is kept, so a second close answers
    the same figure (a refund resumed after a crash must pay the same amount)."""

    __tablename__ = "simulator_closed_cards"

    reference: Mapped[str] = mapped_column(
        ForeignKey("simulator_topups.reference"), primary_key=True
    )
    remaining: Mapped[int] = mapped_column(BigInteger)
    original: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SimulatedEndedPlan(Base):
    """A monthly plan's bundle stopped at the simulated supplier (the plan ended at Topup):
    the moment it stopped is kept, so ending it again answers the same moment."""

    __tablename__ = "simulator_ended_plans"

    reference: Mapped[str] = mapped_column(
        ForeignKey("simulator_topups.reference"), primary_key=True
    )
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
