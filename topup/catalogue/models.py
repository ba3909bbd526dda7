"""Tables of the catalogue: countries → operators (with their number prefixes) → products,
and the operators' own promotions shown on the products."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit.db import Base
from topup.kit.types import DecimalText, UTCDateTime


class Country(Base):
    __tablename__ = "countries"

    iso2: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    calling_code: Mapped[str] = mapped_column(String(4))
    currency: Mapped[str] = mapped_column(String(3))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    country_iso2: Mapped[str] = mapped_column(ForeignKey("countries.iso2"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    balance_check_code: Mapped[str | None] = mapped_column(String(32))
    # Units of the country's currency for 1 EUR; prices every product of the operator.
    fx_rate: Mapped[Decimal] = mapped_column(DecimalText)
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class OperatorPrefix(Base):
    """A number prefix (E.164 digits) that libphonenumber's carrier data gives the operator.

    The prefix is the primary key: one prefix can only ever name one operator.
    """

    __tablename__ = "operator_prefixes"

    prefix: Mapped[str] = mapped_column(String(15), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)


class ProductType(StrEnum):
    """What a product delivers, which decides how it is sold and refunded (each type has
    its own refund policy):

    - ``topup``: airtime credited to the number;
    - ``voucher``: a PIN (an e-voucher) the recipient enters to load the credit;
    - ``calling_card``: a PIN with a balance of call minutes, used up over time;
    - ``plan``: a monthly bundle, sold only by subscription and billed on the 1st.
    """

    topup = "topup"
    voucher = "voucher"
    calling_card = "calling_card"
    plan = "plan"


# The products whose delivery is a PIN code and serial rather than credit on the line.
PIN_PRODUCT_TYPES = frozenset({ProductType.voucher, ProductType.calling_card})


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("kind IN ('fixed', 'range')", name="kind"),
        CheckConstraint(
            "product_type IN ('topup', 'voucher', 'calling_card', 'plan')", name="product_type"
        ),
        # Only airtime comes in any amount: a PIN or a plan is a fixed denomination.
        CheckConstraint("kind = 'fixed' OR product_type = 'topup'", name="range_is_topup"),
        CheckConstraint(
            "kind <> 'fixed' OR (local_value IS NOT NULL AND price IS NOT NULL"
            " AND local_value > 0 AND price > 0)",
            name="fixed_has_value",
        ),
        CheckConstraint(
            "kind <> 'range' OR (local_min > 0 AND local_max >= local_min AND local_step > 0"
            " AND price_min > 0 AND price_max >= price_min AND local_min IS NOT NULL"
            " AND local_max IS NOT NULL AND local_step IS NOT NULL AND price_min IS NOT NULL"
            " AND price_max IS NOT NULL)",
            name="range_has_bounds",
        ),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    product_type: Mapped[str] = mapped_column(
        String(20), default=ProductType.topup.value, server_default=ProductType.topup.value
    )
    currency: Mapped[str] = mapped_column(String(3))
    # Local amounts in minor units of `currency`; prices in EUR cents, VAT and fee included.
    local_value: Mapped[int | None] = mapped_column(BigInteger)
    local_min: Mapped[int | None] = mapped_column(BigInteger)
    local_max: Mapped[int | None] = mapped_column(BigInteger)
    local_step: Mapped[int | None] = mapped_column(BigInteger)
    price: Mapped[int | None] = mapped_column(BigInteger)
    price_min: Mapped[int | None] = mapped_column(BigInteger)
    price_max: Mapped[int | None] = mapped_column(BigInteger)
    fee_rate: Mapped[Decimal] = mapped_column(DecimalText)
    vat_rate: Mapped[Decimal] = mapped_column(DecimalText)
    description: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class CatalogueState(Base):
    """One row: which version of the catalogue is current and where its prices come from.

    Every change bumps ``version``; each process compares it with the version it serves
    from memory, so a change reaches every API node without a shared cache.
    """

    __tablename__ = "catalogue_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    fx_date: Mapped[str] = mapped_column(String(10))
    fx_source: Mapped[str] = mapped_column(String(400))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


MANUAL_SUPPLIER = "manual"  # the supplier name of a promotion an admin entered by hand


class OperatorPromotion(Base):
    """An operator's promotion (bonus credit, double data, ...) as an aggregator publishes
    it, or as an admin entered it. It is information for the buyer: the operator grants
    the bonus on its side, so nothing in an order's price or ledger depends on it.

    ``(supplier, supplier_promotion_id)`` is unique, so each sync upserts. Two switches,
    on purpose apart: ``enabled`` is the admin's and a sync never touches it (an admin who
    hides a misleading promotion keeps it hidden); ``withdrawn_at`` is the supplier's, set
    when a sync no longer finds the promotion and cleared if it comes back.
    """

    __tablename__ = "operator_promotions"
    __table_args__ = (
        UniqueConstraint("supplier", "supplier_promotion_id"),
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint(
            "bonus_percent IS NULL OR (bonus_percent > 0 AND bonus_percent <= 1000)",
            name="bonus_percent",
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)
    supplier: Mapped[str] = mapped_column(String(20))
    supplier_promotion_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000))
    # Whole percent of extra credit, only where the publisher states one ("100% bonus").
    bonus_percent: Mapped[int | None] = mapped_column(Integer)
    # The bonus in the publisher's words ("Bonus 2x", "Get 2x data").
    bonus_text: Mapped[str | None] = mapped_column(String(200))
    # Which amounts qualify, in the publisher's words ("USD 10 and up"); shown, not parsed.
    denominations: Mapped[str | None] = mapped_column(String(200))
    # Our product ids it is limited to; None: every product of the operator.
    product_ids: Mapped[list[str] | None] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PromotionSync(Base):
    """One row per supplier: when its promotions are next fetched. ``due_at`` doubles as
    the worker's lease (DESIGN §2), so of several workers one syncs, and a worker that dies
    mid-sync lets the row fall due again."""

    __tablename__ = "promotion_syncs"

    supplier: Mapped[str] = mapped_column(String(20), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
