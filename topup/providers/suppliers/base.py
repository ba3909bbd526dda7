"""The ports to the top-up supplier (Reloadly, DT One, or the simulator).

``NumberLookup`` answers "which operator serves this number, and is it prepaid?". Real
suppliers answer it from the operators' own records, which follow number portability;
libphonenumber's prefixes do not, so they only serve as the fallback.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class TopupResult:
    status: TopupStatus
    supplier_transaction_id: str | None = None
    failure_code: str | None = None


class TopupSupplier(Protocol):
    async def send_topup(self, request: TopupRequest) -> TopupResult:
        """Deliver the credit. Raises SupplierUnavailable when the outcome is unknown
        (a timeout, a 5xx): that is never a failure, only a reason to ask ``status``."""
        ...

    async def status(self, reference: str) -> TopupResult: ...


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
