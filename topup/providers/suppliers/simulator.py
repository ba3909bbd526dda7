"""The supplier simulator: a stand-in for Reloadly or DT One, driven by the number itself.

It behaves like a real supplier's number lookup: it names the operator that serves the
number *today* and whether the line is prepaid. Which operator is known from the catalogue
(in a real deployment our catalogue is a copy of the supplier's). The last four digits
choose the outcome, as the sandbox contract in DESIGN.md §6 and the README describe:

- ``0009``: a postpaid line, so the lookup refuses it before any payment;
- ``0008``: a number ported away from the operator its prefix names, to the next operator
  of the same country (shows why the supplier is asked before the prefixes);
- anything else: the prefix operator, prepaid.

Top-ups follow DESIGN.md §6 by the same four digits: ``0001`` fails at once (the operator
rejects it), ``0002`` is pending and succeeds at the first status check, ``0003`` is pending
and then fails, ``0004`` stays pending for ever, ``0005`` times out on send although the
credit was delivered (the status check finds out), and any other number succeeds. Like a
real supplier it keeps its own records, keyed by the caller's reference, so a second send
with the same reference returns the first top-up instead of delivering again.

Promotions: the first operator of each country in ``PROMOTED_COUNTRIES`` runs "double
credit" for the current ISO week (Monday 00:00 to Monday 00:00 UTC, by the service clock),
under an id naming the week. So the sandbox always shows one, and each week's sync
replaces last week's, as a real supplier's list moves on.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.catalogue.snapshot import CatalogueCache
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.providers.suppliers.base import (
    DetectedBy,
    LineType,
    NumberInfo,
    SupplierPromotion,
    SupplierUnavailable,
    TopupRequest,
    TopupResult,
    TopupStatus,
)
from topup.providers.suppliers.simulator_models import SimulatedTopup

POSTPAID_SUFFIX = "0009"
PORTED_SUFFIX = "0008"
FAILS_AT_ONCE, SUCCEEDS_LATER, FAILS_LATER, PENDING_FOREVER, TIMES_OUT = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
)
OPERATOR_REJECTED = "operator_rejected"
PROMOTED_COUNTRIES = ("NG", "KE", "IN", "MX")
PROMOTION_BONUS_PERCENT = 100


class SupplierSimulator:
    def __init__(
        self,
        catalogue: CatalogueCache,
        session_factory: async_sessionmaker[AsyncSession] | None = None,
        *,
        latency_ms: int = 0,
        lookup_latency_ms: int = 0,
    ) -> None:
        self._catalogue = catalogue
        self._session_factory = session_factory
        # A real supplier answers a number lookup far sooner than it delivers a top-up,
        # so the two delays are set apart (the benchmark runs top-ups at 2 s).
        self._latency_seconds = latency_ms / 1000
        self._lookup_latency_seconds = lookup_latency_ms / 1000

    async def lookup(self, e164: str) -> NumberInfo:
        if self._lookup_latency_seconds:
            await asyncio.sleep(self._lookup_latency_seconds)
        snapshot = await self._catalogue.get()
        operator = snapshot.operator_for_number(e164.removeprefix("+"))
        if operator is None:
            return NumberInfo(None, LineType.unknown, DetectedBy.supplier)
        line_type = LineType.postpaid if e164.endswith(POSTPAID_SUFFIX) else LineType.prepaid
        operator_id = operator.id
        if e164.endswith(PORTED_SUFFIX):
            siblings = [
                candidate.id
                for candidate in snapshot.operators.values()
                if candidate.country_iso2 == operator.country_iso2
            ]
            if len(siblings) > 1:
                operator_id = siblings[(siblings.index(operator.id) + 1) % len(siblings)]
        return NumberInfo(operator_id, line_type, DetectedBy.supplier)

    # ---- promotions ---------------------------------------------------------------------

    async def promotions(self, operator_ids: Collection[str]) -> list[SupplierPromotion]:
        snapshot = await self._catalogue.get()
        starts_at = week_start(clock.now())
        year, week, _ = starts_at.isocalendar()
        found = []
        for iso2 in PROMOTED_COUNTRIES:
            operators = snapshot.operators_of(iso2)
            if not operators or operators[0].id not in operator_ids:
                continue
            operator = operators[0]
            found.append(
                SupplierPromotion(
                    supplier_promotion_id=f"sim-{operator.id}-{year}W{week:02d}",
                    operator_id=operator.id,
                    title="Double credit all week",
                    description=(
                        f"{operator.name} doubles every top-up this week: the recipient gets"
                        " the same amount again as bonus credit, valid 7 days. (A sandbox"
                        " promotion of the supplier simulator.)"
                    ),
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(days=7),
                    bonus_percent=PROMOTION_BONUS_PERCENT,
                    bonus_text="2x credit",
                    denominations="All",
                )
            )
        return found

    # ---- top-ups ------------------------------------------------------------------------

    async def send_topup(self, request: TopupRequest) -> TopupResult:
        if self._latency_seconds:
            await asyncio.sleep(self._latency_seconds)
        scenario = request.e164[-4:]
        async with unit_of_work(self._records()) as session:
            existing = await session.get(SimulatedTopup, request.reference)
            if existing is not None:
                return _result(existing)
        try:
            async with unit_of_work(self._records()) as session:
                record = _new_record(request, scenario)
                session.add(record)
        except IntegrityError:  # the same reference sent twice at once: one top-up only
            async with unit_of_work(self._records()) as session:
                raced = await session.get(SimulatedTopup, request.reference)
                assert raced is not None
                return _result(raced)
        if scenario == TIMES_OUT:
            raise SupplierUnavailable("the supplier did not answer in time")
        return _result(record)

    async def status(self, reference: str) -> TopupResult:
        if self._latency_seconds:
            await asyncio.sleep(self._latency_seconds)
        async with unit_of_work(self._records()) as session:
            record = await session.get(SimulatedTopup, reference, with_for_update=True)
            if record is None:
                return TopupResult(TopupStatus.not_found)
            record.status_checks += 1
            if record.status == TopupStatus.pending and record.scenario == SUCCEEDS_LATER:
                record.status = TopupStatus.succeeded.value
            elif record.status == TopupStatus.pending and record.scenario == FAILS_LATER:
                record.status = TopupStatus.failed.value
            return _result(record)

    def _records(self) -> async_sessionmaker[AsyncSession]:
        if self._session_factory is None:
            raise RuntimeError("the simulator needs a database to keep its top-ups in")
        return self._session_factory


def _new_record(request: TopupRequest, scenario: str) -> SimulatedTopup:
    if scenario == FAILS_AT_ONCE:
        status = TopupStatus.failed
    elif scenario in (SUCCEEDS_LATER, FAILS_LATER, PENDING_FOREVER):
        status = TopupStatus.pending
    else:
        status = TopupStatus.succeeded
    return SimulatedTopup(
        reference=request.reference,
        transaction_id=f"sim_{secrets.token_hex(8)}",
        e164=request.e164,
        operator_id=request.operator_id,
        amount=request.amount,
        currency=request.currency,
        scenario=scenario,
        status=status.value,
        status_checks=0,
        created_at=clock.now(),
    )


def _result(record: SimulatedTopup) -> TopupResult:
    status = TopupStatus(record.status)
    failure = OPERATOR_REJECTED if status is TopupStatus.failed else None
    return TopupResult(status, record.transaction_id, failure)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of ``moment``'s ISO week."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=midnight.weekday())
