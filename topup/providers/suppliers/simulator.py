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
A voucher or a calling card gets its PIN and serial (from ``secrets``) when the record is
made, and every succeeded answer under the reference carries that same PIN: a repeated
send, or the status check that finds a pending one delivered. A calling card is used by
the clock, deterministically: it loses ``DAILY_USE_PERCENT`` of its value for each whole
day since delivery, and the sandbox can spend from it explicitly (``use_card``). A card
closed by a refund (``close_card``) keeps what was left when it closed in its own table:
its balance is 0 from then on, a use is refused, and closing again answers the same figure.
A monthly plan's bundle ended by ``end_plan`` keeps the moment it stopped in its own table,
and ending it again answers that same moment.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.catalogue.models import PIN_PRODUCT_TYPES, ProductType
from topup.catalogue.snapshot import CatalogueCache
from topup.config import DEFAULT_SECRET_KEY
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.sealing import Sealer, sealer
from topup.providers.suppliers.base import (
    CardBalance,
    DetectedBy,
    LineType,
    NumberInfo,
    PinDelivery,
    SupplierPromotion,
    SupplierUnavailable,
    TopupRequest,
    TopupResult,
    TopupStatus,
)
from topup.providers.suppliers.simulator_models import (
    SimulatedClosedCard,
    SimulatedEndedPlan,
    SimulatedTopup,
)

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
# A simulated calling card is used up by a tenth of its value a day after delivery: a
# refund preview a week later meets the 50 % rule without any test spending from it.
DAILY_USE_PERCENT = 10
# The number a calling card's holder dials first (a UK number reserved for drama).
ACCESS_NUMBER = "+442079460000"
PIN_DIGITS, SERIAL_DIGITS = 16, 12


class CardOverdrawn(Exception):
    """More was to be spent from a calling card than is left on it."""

    def __init__(self, balance: CardBalance) -> None:
        super().__init__("the card has less left than that")
        self.balance = balance


class CardClosed(Exception):
    """The calling card was closed (refunded): nothing can be spent from it any more."""


class SupplierSimulator:
    def __init__(
        self,
        catalogue: CatalogueCache,
        session_factory: async_sessionmaker[AsyncSession] | None = None,
        *,
        latency_ms: int = 0,
        lookup_latency_ms: int = 0,
        secret_key: str = DEFAULT_SECRET_KEY,
    ) -> None:
        self._catalogue = catalogue
        self._session_factory = session_factory
        # Its own purpose label: the simulator's PINs and Topup's copies never share a key.
        self._sealer: Sealer = sealer(secret_key, "simulator-pins")
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
                return self._result(existing)
        try:
            async with unit_of_work(self._records()) as session:
                record = self._new_record(request, scenario)
                session.add(record)
        except IntegrityError:  # the same reference sent twice at once: one top-up only
            async with unit_of_work(self._records()) as session:
                raced = await session.get(SimulatedTopup, request.reference)
                assert raced is not None
                return self._result(raced)
        if scenario == TIMES_OUT:
            raise SupplierUnavailable("the supplier did not answer in time")
        return self._result(record)

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
                record.delivered_at = clock.now()
            elif record.status == TopupStatus.pending and record.scenario == FAILS_LATER:
                record.status = TopupStatus.failed.value
            return self._result(record)

    # ---- calling cards ----------------------------------------------------------------------

    async def card_balance(self, reference: str) -> CardBalance:
        async with unit_of_work(self._records()) as session:
            record = await _delivered_card(session, reference, for_update=False)
            if await session.get(SimulatedClosedCard, reference) is not None:
                return CardBalance(remaining=0, original=record.amount, currency=record.currency)
            return _balance(record)

    async def close_card(self, reference: str) -> CardBalance:
        # The card's own row is locked first, so a use and a close racing are one after
        # the other: what the close reports is exactly what can no longer be spent.
        async with unit_of_work(self._records()) as session:
            record = await _delivered_card(session, reference, for_update=True)
            closed = await session.get(SimulatedClosedCard, reference)
            if closed is None:
                left = _balance(record)
                closed = SimulatedClosedCard(
                    reference=reference,
                    remaining=left.remaining,
                    original=left.original,
                    currency=left.currency,
                    closed_at=clock.now(),
                )
                session.add(closed)
            return CardBalance(
                remaining=closed.remaining, original=closed.original, currency=closed.currency
            )

    async def use_card(self, reference: str, amount: int) -> CardBalance:
        """Spend ``amount`` (minor units) from a delivered calling card, as its holder's calls
        would; raises CardOverdrawn when less is left, CardClosed when it was closed,
        SupplierUnavailable when no such card."""
        async with unit_of_work(self._records()) as session:
            record = await _delivered_card(session, reference, for_update=True)
            if await session.get(SimulatedClosedCard, reference) is not None:
                raise CardClosed(reference)
            before = _balance(record)
            if amount > before.remaining:
                raise CardOverdrawn(before)
            record.card_spent += amount
            return _balance(record)

    # ---- monthly plans ----------------------------------------------------------------------

    async def end_plan(self, reference: str) -> datetime:
        # Two calls racing: the second insert fails on the key, and the retry reads the
        # moment the first recorded.
        for _ in range(2):
            try:
                async with unit_of_work(self._records()) as session:
                    await _delivered_plan(session, reference)
                    ended = await session.get(SimulatedEndedPlan, reference)
                    if ended is None:
                        ended = SimulatedEndedPlan(reference=reference, ended_at=clock.now())
                        session.add(ended)
                    return ended.ended_at
            except IntegrityError:
                continue
        raise SupplierUnavailable("the plan's end could not be recorded")

    def _records(self) -> async_sessionmaker[AsyncSession]:
        if self._session_factory is None:
            raise RuntimeError("the simulator needs a database to keep its top-ups in")
        return self._session_factory

    def _new_record(self, request: TopupRequest, scenario: str) -> SimulatedTopup:
        if scenario == FAILS_AT_ONCE:
            status = TopupStatus.failed
        elif scenario in (SUCCEEDS_LATER, FAILS_LATER, PENDING_FOREVER):
            status = TopupStatus.pending
        else:
            status = TopupStatus.succeeded
        now = clock.now()
        record = SimulatedTopup(
            reference=request.reference,
            transaction_id=f"sim_{secrets.token_hex(8)}",
            e164=request.e164,
            operator_id=request.operator_id,
            amount=request.amount,
            currency=request.currency,
            scenario=scenario,
            status=status.value,
            status_checks=0,
            created_at=now,
            product_type=request.product_type,
            delivered_at=now if status is TopupStatus.succeeded else None,
            card_spent=0,
        )
        if request.product_type in PIN_PRODUCT_TYPES:
            code = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
            serial = "".join(secrets.choice("0123456789") for _ in range(SERIAL_DIGITS))
            record.pin_sealed = self._sealer.seal(code, bound_to=request.reference)
            record.serial_sealed = self._sealer.seal(serial, bound_to=request.reference)
        return record

    def _result(self, record: SimulatedTopup) -> TopupResult:
        status = TopupStatus(record.status)
        failure = OPERATOR_REJECTED if status is TopupStatus.failed else None
        pin = self._pin(record) if status is TopupStatus.succeeded else None
        return TopupResult(status, record.transaction_id, failure, pin)

    def _pin(self, record: SimulatedTopup) -> PinDelivery | None:
        if record.pin_sealed is None or record.serial_sealed is None:
            return None
        calling_card = record.product_type == ProductType.calling_card
        return PinDelivery(
            code=self._sealer.open(record.pin_sealed, bound_to=record.reference),
            serial=self._sealer.open(record.serial_sealed, bound_to=record.reference),
            balance=record.amount if calling_card else None,
            currency=record.currency if calling_card else None,
            access_number=ACCESS_NUMBER if calling_card else None,
        )


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of ``moment``'s ISO week."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=midnight.weekday())


async def _delivered_card(
    session: AsyncSession, reference: str, *, for_update: bool
) -> SimulatedTopup:
    record = await session.get(SimulatedTopup, reference, with_for_update=for_update)
    if (
        record is None
        or record.product_type != ProductType.calling_card
        or record.status != TopupStatus.succeeded
        or record.delivered_at is None
    ):
        raise SupplierUnavailable("no calling card was delivered under this reference")
    return record


async def _delivered_plan(session: AsyncSession, reference: str) -> SimulatedTopup:
    record = await session.get(SimulatedTopup, reference)
    if (
        record is None
        or record.product_type != ProductType.plan
        or record.status != TopupStatus.succeeded
    ):
        raise SupplierUnavailable("no plan was delivered under this reference")
    return record


def _balance(record: SimulatedTopup) -> CardBalance:
    """The clock's use (whole days since delivery) and the explicit spending, never below 0."""
    assert record.delivered_at is not None
    days = max((clock.now() - record.delivered_at) // timedelta(days=1), 0)
    used_by_clock = record.amount * DAILY_USE_PERCENT * days // 100
    remaining = max(record.amount - used_by_clock - record.card_spent, 0)
    return CardBalance(remaining=remaining, original=record.amount, currency=record.currency)
