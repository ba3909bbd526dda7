"""Tables of the accounts domain.

Secrets are never stored: passwords as argon2 hashes, SMS codes as keyed HMACs, session
and reset tokens as SHA-256 digests of 256 random bits. A database dump gives an attacker
nothing to log in with.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import UTCDateTime


class CustomerStatus(StrEnum):
    active = "active"
    blocked = "blocked"  # can log in and see its history, cannot buy
    deleted = "deleted"  # personal data erased, cannot log in


class Role(StrEnum):
    customer = "customer"
    support = "support"
    admin = "admin"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Personal data: every one of these is set to NULL when the account is deleted.
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    # The lower-cased address: unique among accounts that hold one, and what login matches.
    email_key: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))

    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=CustomerStatus.active)
    block_reason: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.customer)
    language: Mapped[str] = mapped_column(String(8), default="en")
    country_iso2: Mapped[str | None] = mapped_column(String(2))
    # Asked for only when a market rule needs them (e.g. Italy: 18 or older, resident).
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    residence_country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PhoneVerification(Base):
    """One SMS code sent to confirm a phone; a new code supersedes the older ones."""

    __tablename__ = "phone_verifications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the code was used, superseded by a newer one, or spent all its tries.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessToken(Base):
    """A login session: the bearer token's SHA-256 digest, never the token."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Base):
    """A single-use reset link. ``customer_id`` is NULL for an address with no account:
    the row is written either way, so both answers cost the same work."""

    __tablename__ = "password_resets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
