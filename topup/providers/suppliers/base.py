"""The ports to the top-up supplier (Reloadly, DT One, or the simulator).

``NumberLookup`` answers "which operator serves this number, and is it prepaid?". Real
suppliers answer it from the operators' own records, which follow number portability;
libphonenumber's prefixes do not, so they only serve as the fallback.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class LineType(StrEnum):
    prepaid = "prepaid"
    postpaid = "postpaid"
    unknown = "unknown"


class DetectedBy(StrEnum):
    supplier = "supplier"
    prefix = "prefix"
    customer = "customer"


@dataclass(frozen=True, slots=True)
class NumberInfo:
    """What a lookup learned about one E.164 number."""

    operator_id: str | None
    line_type: LineType
    detected_by: DetectedBy


class NumberLookup(Protocol):
    async def lookup(self, e164: str) -> NumberInfo:
        """Identify the operator and line type of ``e164`` (``+`` and digits)."""
        ...


class SupplierUnavailable(Exception):
    """The supplier did not answer, or answered with an error; the outcome is unknown."""


class TopupStatus(StrEnum):
    succeeded = "succeeded"
    pending = "pending"  # the operator has not answered yet: ask again later
    failed = "failed"
    not_found = "not_found"  # the supplier has no top-up under this reference


@dataclass(frozen=True, slots=True)
class TopupRequest:
    """One top-up. ``reference`` derives from our order id: a supplier keeps it unique
    (Reloadly's customIdentifier, DT One's external_id), so a retried send after a crash
    can never deliver twice."""

    reference: str
    e164: str
    operator_id: str
    amount: int  # minor units of `currency`
    currency: str
    # "topup" credits the number; "voucher" and "calling_card" issue a PIN instead, which
    # the supplier returns with the successful result (the catalogue's product type).
    product_type: str = "topup"


@dataclass(frozen=True, slots=True)
class PinDelivery:
    """The PIN a supplier issued for a voucher or a calling card. The code is the product
    itself: whoever reads it can spend it, so it stays out of every repr (and so out of
    every log line and traceback that prints a result)."""

    code: str = field(repr=False)
    serial: str = field(repr=False)
    # A calling card's starting balance, in the local currency's minor units.
    balance: int | None = None
    currency: str | None = None
    # How to use it, as the supplier words it (e.g. Reloadly's ``info1``), and the number
    # to dial for a calling card; either may be missing.
    instructions: str | None = None
    access_number: str | None = None


@dataclass(frozen=True, slots=True)
class TopupResult:
    status: TopupStatus
    supplier_transaction_id: str | None = None
    failure_code: str | None = None
    # Set on a succeeded PIN product, by the send or by the status check that finds it
    # delivered; asked again under the same reference, a supplier returns the same PIN.
    pin: PinDelivery | None = None


@dataclass(frozen=True, slots=True)
class CardBalance:
    """What is left on a calling card, in minor units of ``currency``."""

    remaining: int
    original: int
    currency: str


class TopupSupplier(Protocol):
    async def send_topup(self, request: TopupRequest) -> TopupResult:
        """Deliver the credit. Raises SupplierUnavailable when the outcome is unknown
        (a timeout, a 5xx): that is never a failure, only a reason to ask ``status``."""
        ...

    async def status(self, reference: str) -> TopupResult: ...

    async def card_balance(self, reference: str) -> CardBalance:
        """The calling card delivered under ``reference``: what is left of it now. Raises
        SupplierUnavailable when the supplier cannot say (no answer, no such card, or a
        supplier that reports no balances)."""
        ...

    async def close_card(self, reference: str) -> CardBalance:
        """Close the calling card delivered under ``reference`` (it is being refunded):
        nothing can be spent from it afterwards. Answers what was left on it when it
        closed; closing again answers the same figure, so a refund resumed after a crash
        pays what the first close reported. Raises SupplierUnavailable when it cannot
        (no answer, no such card, or a supplier that cannot close cards)."""
        ...

    async def end_plan(self, reference: str) -> datetime:
        """Stop the monthly plan's bundle delivered under ``reference`` (the plan was
        cancelled, suspended or its account closed): answers the moment its service
        stopped. Ending again answers the same moment, so a step repeated after a crash
        records what the first call did. Raises SupplierUnavailable when it cannot tell
        (no answer, no such plan, or a supplier that cannot end plans)."""
        ...


@dataclass(frozen=True, slots=True)
class SupplierPromotion:
    """An operator's promotion as a supplier publishes it, in our operator's terms.

    ``supplier_promotion_id`` is the supplier's own id (stable across syncs); the texts are
    plain (no markup); ``bonus_percent`` only where the publisher states a percentage.
    """

    supplier_promotion_id: str
    operator_id: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    bonus_percent: int | None = None
    bonus_text: str | None = None
    denominations: str | None = None


class PromotionSource(Protocol):
    async def promotions(self, operator_ids: Collection[str]) -> list[SupplierPromotion]:
        """Every promotion the supplier publishes now for one of ``operator_ids`` (ours),
        including ones that start later. Raises SupplierUnavailable when it cannot tell:
        a sync must never read "no answer" as "no promotions"."""
        ...
