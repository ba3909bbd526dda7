"""Tables of the ledger, modelled on TigerBeetle's accounts and transfers.

A transfer moves an amount from one account (debited) to another (credited) in one
currency. Both accounts must hold that currency, which two composite foreign keys make the
database itself enforce, so every transfer, and therefore every journal entry, sums to zero
in each currency by construction. Transfers are never updated or deleted (triggers refuse
it, see the migration); a correction is a new, reversing entry.

Two-phase transfers hold money: a ``pending`` transfer reserves the amount on both
accounts, then exactly one ``post_pending`` (all or part of it) or ``void_pending`` resolves
it; a unique index on ``pending_id`` makes a second resolution impossible. Balances are kept
on the account rows in the same transaction as each transfer, never summed on read, and CHECK
constraints keep a wallet from going below zero even counting its pending debits.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class TransferKind(StrEnum):
    posted = "posted"  # single-phase: moves the money at once
    pending = "pending"  # a hold, resolved later by one of the two below
    post_pending = "post_pending"
    void_pending = "void_pending"


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
        CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0"
            " AND credits_pending >= 0",
            name="balances_not_negative",
        ),
        # A liability such as a wallet: what was taken out (posted or still held) can
        # never exceed what was put in.
        CheckConstraint(
            "NOT debits_must_not_exceed_credits"
            " OR debits_posted + debits_pending <= credits_posted",
            name="debits_within_credits",
        ),
        CheckConstraint(
            "NOT credits_must_not_exceed_debits"
            " OR credits_posted + credits_pending <= debits_posted",
            name="credits_within_debits",
        ),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    # What the account is for: "wallet", "card_clearing", "sales", "vat_payable", ...
    code: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(Boolean, default=False)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(Boolean, default=False)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JournalEntry(Base):
    """A business event (an order's capture, a refund, ...) and the transfers it made."""

    __tablename__ = "journal_entries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(80), index=True)
    # The same step retried after a crash finds its entry here instead of posting twice.
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Transfer(Base):
    __tablename__ = "transfers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["debit_account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_transfers_debit_account_currency",
        ),
        ForeignKeyConstraint(
            ["credit_account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_transfers_credit_account_currency",
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint(
            "kind IN ('posted', 'pending', 'post_pending', 'void_pending')", name="kind"
        ),
        CheckConstraint(
            "(kind IN ('posted', 'pending') AND pending_id IS NULL)"
            " OR (kind IN ('post_pending', 'void_pending') AND pending_id IS NOT NULL)",
            name="resolution_names_its_hold",
        ),
        CheckConstraint("kind <> 'pending' OR timeout_at IS NOT NULL", name="hold_times_out"),
        Index("ix_transfers_debit_account", "debit_account_id", "created_at"),
        Index("ix_transfers_credit_account", "credit_account_id", "created_at"),
        Index("ix_transfers_open_holds", "kind", "timeout_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    debit_account_id: Mapped[str] = mapped_column(String(80))
    credit_account_id: Mapped[str] = mapped_column(String(80))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    # For post_pending / void_pending: the hold it resolves. Unique: a hold ends once.
    pending_id: Mapped[str | None] = mapped_column(ForeignKey("transfers.id"), unique=True)
    timeout_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
