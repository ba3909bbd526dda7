"""Making and managing schedules: what the customer does. The worker's part is in runs.py.

A schedule is checked at creation as an order would be (the account may buy, the number
is looked up, the product is sold for its operator, the amount fits, the card is the
customer's), so that a mistake is answered now rather than by a failed run weeks later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import Customer
from topup.accounts.service import ensure_can_buy
from topup.catalogue.models import ProductType
from topup.catalogue.snapshot import CatalogueSnapshot, ProductEntry
from topup.kit import clock
from topup.kit.errors import Conflict, InvalidInput, NotFound
from topup.kit.ids import new_id
from topup.lookup.service import LookupResult, look_up_recipient
from topup.orders.service import local_amount_of, product_for
from topup.payments.service import own_card
from topup.providers.suppliers.base import NumberLookup
from topup.schedules.dates import Every, first_due, next_after
from topup.schedules.models import PauseReason, Schedule, ScheduleStatus
from topup.schedules.repository import ScheduleRepository

# How far ahead a first run may be set: a year, as far as a customer plans a top-up.
FIRST_RUN_HORIZON = timedelta(days=365)
# Open (active or paused) schedules per account: enough for a family, and a bound on what
# one account can make the worker do.
MAX_OPEN_SCHEDULES = 20


@dataclass(frozen=True)
class NewSchedule:
    recipient_phone: str
    product_id: str
    amount: int | None  # the local value wanted, for range products (minor units)
    amount_currency: str | None
    card_id: str
    every: Every
    day_of_month: int | None
    first_run_at: datetime | None  # None: now (the first top-up goes at once)


@dataclass(frozen=True)
class ScheduleChanges:
    card_id: str | None
    product_id: str | None
    amount: int | None
    amount_currency: str | None
    given: frozenset[str]  # the fields the request named


@dataclass(frozen=True)
class Lookups:
    """What checking a recipient and a product needs: the catalogue and the number lookup."""

    snapshot: CatalogueSnapshot
    number_lookup: NumberLookup


async def create_schedule(
    session: AsyncSession, lookups: Lookups, customer: Customer, request: NewSchedule
) -> Schedule:
    ensure_can_buy(customer)
    _check_day_of_month(request.every, request.day_of_month)
    now = clock.now()
    start = _first_run(request.first_run_at, now)
    found = await recipient(lookups, request.recipient_phone)
    product = topup_product(lookups.snapshot, found, request.product_id)
    local_amount = local_amount_of(product, request.amount, request.amount_currency)
    card = await own_card(session, customer.id, request.card_id, field="card_id")
    repository = ScheduleRepository(session)
    if await repository.count_open(customer.id) >= MAX_OPEN_SCHEDULES:
        raise Conflict(
            f"An account may have {MAX_OPEN_SCHEDULES} schedules at most; cancel one first.",
            code="too_many_schedules",
        )
    next_run_at = first_due(start, request.every, request.day_of_month)
    schedule = Schedule(
        id=new_id("sch"),
        customer_id=customer.id,
        status=ScheduleStatus.active.value,
        recipient_phone=found.e164,
        country_iso2=found.country.iso2,
        operator_id=found.operator.id,
        operator_name=found.operator.name,
        product_id=product.id,
        local_amount=local_amount,
        local_currency=product.currency,
        card_id=card.id,
        card_last4=card.last4,
        card_brand=card.brand,
        every=request.every.value,
        day_of_month=request.day_of_month,
        next_run_at=next_run_at,
        due_at=next_run_at,
        failed_attempts=0,
        created_at=now,
        updated_at=now,
    )
    repository.add(schedule)
    await session.flush()
    return schedule


def _check_day_of_month(every: Every, day_of_month: int | None) -> None:
    if every is Every.monthly and day_of_month is None:
        raise InvalidInput(
            "A monthly top-up needs its day of the month (1 to 31).",
            code="missing_field",
            field="day_of_month",
        )
    if every is not Every.monthly and day_of_month is not None:
        raise InvalidInput(
            "A day of the month is only for a monthly top-up; leave it out.",
            code="invalid_field",
            field="day_of_month",
        )


def _first_run(first_run_at: datetime | None, now: datetime) -> datetime:
    if first_run_at is None:
        return now
    if first_run_at < now or first_run_at > now + FIRST_RUN_HORIZON:
        raise InvalidInput(
            "The first top-up can be set from now to a year ahead.",
            code="invalid_date",
            field="first_run_at",
        )
    return first_run_at


async def recipient(lookups: Lookups, phone: str) -> LookupResult:
    return await look_up_recipient(lookups.snapshot, lookups.number_lookup, phone)


def topup_product(
    snapshot: CatalogueSnapshot, found: LookupResult, product_id: str
) -> ProductEntry:
    """A product sold for the recipient's operator that can repeat: airtime only. A PIN
    is delivered to the buyer to pass on, and a plan renews by its own subscription."""
    product = product_for(snapshot, found, product_id)
    if product.product_type != ProductType.topup:
        raise InvalidInput(
            "Only airtime top-ups can be scheduled; this product is a "
            f"{product.product_type.replace('_', ' ')}.",
            code="product_not_schedulable",
            field="product_id",
        )
    return product


# ---- managing one ---------------------------------------------------------------------------


async def schedule_of(session: AsyncSession, customer: Customer, schedule_id: str) -> Schedule:
    """The customer's schedule as it is now, not locked: read before a number lookup,
    which must not run while the lock is held (on SQLite it would hold every writer)."""
    schedule = await ScheduleRepository(session).schedule_of(customer.id, schedule_id)
    if schedule is None:
        raise _no_such_schedule()
    return schedule


def _no_such_schedule() -> NotFound:
    # Another customer's schedule is as absent as one never made.
    return NotFound("No such schedule.", code="schedule_not_found", field="schedule_id")


async def locked_schedule_of(
    session: AsyncSession, customer: Customer, schedule_id: str
) -> Schedule:
    repository = ScheduleRepository(session)
    schedule = await repository.locked(schedule_id)
    if schedule is None or schedule.customer_id != customer.id:
        raise _no_such_schedule()
    return schedule


def _still_open(schedule: Schedule) -> Schedule:
    if schedule.status == ScheduleStatus.cancelled:
        raise Conflict("This schedule is cancelled; make a new one.", code="schedule_cancelled")
    return schedule


async def change_schedule(
    session: AsyncSession,
    lookups: Lookups,
    customer: Customer,
    schedule_id: str,
    changes: ScheduleChanges,
) -> Schedule:
    """A new card, or a new product (and amount). A new product is checked against the
    operator that serves the number today, which becomes the schedule's operator: this is
    how a schedule paused because the number moved to another operator is set right."""
    if not changes.given:
        raise InvalidInput("Name at least one field to change.", code="missing_field")
    seen = _still_open(await schedule_of(session, customer, schedule_id))
    card = (
        await own_card(session, customer.id, changes.card_id, field="card_id")
        if changes.card_id
        else None
    )
    found = product = None
    if changes.given & {"product_id", "amount"}:
        found = await recipient_of(lookups, seen)  # the number never changes: read unlocked
        product = topup_product(lookups.snapshot, found, changes.product_id or seen.product_id)
    schedule = _still_open(await locked_schedule_of(session, customer, schedule_id))
    if found is not None and product is not None:
        amount = changes.amount
        currency = changes.amount_currency
        if "amount" not in changes.given and product.kind == "range":
            amount, currency = schedule.local_amount, schedule.local_currency
        schedule.local_amount = local_amount_of(product, amount, currency)
        schedule.local_currency = product.currency
        schedule.product_id = product.id
        schedule.operator_id = found.operator.id
        schedule.operator_name = found.operator.name
    if card is not None:
        schedule.card_id, schedule.card_last4, schedule.card_brand = card.id, card.last4, card.brand
    schedule.updated_at = clock.now()
    return schedule


async def recipient_of(lookups: Lookups, schedule: Schedule) -> LookupResult:
    if schedule.recipient_phone is None:  # pragma: no cover - only erased accounts lack it
        raise Conflict("This schedule is cancelled; make a new one.", code="schedule_cancelled")
    return await recipient(lookups, schedule.recipient_phone)


async def pause_schedule(session: AsyncSession, customer: Customer, schedule_id: str) -> Schedule:
    """Paused by the customer; a schedule the service paused already stays as it is."""
    schedule = _still_open(await locked_schedule_of(session, customer, schedule_id))
    if schedule.status == ScheduleStatus.active:
        pause(schedule, PauseReason.customer, clock.now())
    return schedule


def pause(schedule: Schedule, reason: PauseReason, now: datetime) -> None:
    """No more runs until resumed. An order in flight finishes as an ordinary order; the
    schedule stops following it (its answer still names it as the last order)."""
    schedule.status = ScheduleStatus.paused.value
    schedule.pause_reason = reason.value
    schedule.paused_at = now
    schedule.due_at = None
    if schedule.current_order_id is not None:
        schedule.last_order_id, schedule.current_order_id = schedule.current_order_id, None
    schedule.updated_at = now


async def resume_schedule(
    session: AsyncSession, lookups: Lookups, customer: Customer, schedule_id: str
) -> Schedule:
    """Active again, from the next due date after now on the schedule's own calendar: the
    dates missed while paused are not made up (a customer who wants a top-up now buys
    one), and the failures counted before start again from zero."""
    ensure_can_buy(customer)
    seen = _still_open(await schedule_of(session, customer, schedule_id))
    moved_to = None
    if seen.status == ScheduleStatus.paused and seen.pause_reason == PauseReason.operator_changed:
        moved_to = (await recipient_of(lookups, seen)).operator  # before the lock is taken
    schedule = _still_open(await locked_schedule_of(session, customer, schedule_id))
    if schedule.status == ScheduleStatus.active:
        return schedule
    if lookups.snapshot.product(schedule.product_id) is None:
        raise Conflict(
            "This product is no longer sold; choose another with PATCH product_id.",
            code="product_unavailable",
            field="product_id",
        )
    if moved_to is not None and moved_to.id != schedule.operator_id:
        raise Conflict(
            f"{schedule.recipient_phone} is now with {moved_to.name}: choose one of its "
            "products with PATCH product_id first.",
            code="operator_changed",
            field="product_id",
        )
    now = clock.now()
    every = Every(schedule.every)
    if schedule.next_run_at <= now:
        schedule.next_run_at = next_after(schedule.next_run_at, every, schedule.day_of_month, now)
    schedule.status = ScheduleStatus.active.value
    schedule.pause_reason = schedule.paused_at = None
    schedule.failed_attempts = 0
    schedule.last_failure_code = None
    schedule.due_at = schedule.next_run_at
    schedule.updated_at = now
    return schedule


async def cancel_schedule(session: AsyncSession, customer: Customer, schedule_id: str) -> None:
    """No runs after this; an order already in flight finishes as an ordinary order."""
    schedule = await locked_schedule_of(session, customer, schedule_id)
    if schedule.status != ScheduleStatus.cancelled:
        cancel(schedule, clock.now())


def cancel(schedule: Schedule, now: datetime) -> None:
    schedule.status = ScheduleStatus.cancelled.value
    schedule.cancelled_at = now
    schedule.due_at = None
    if schedule.current_order_id is not None:
        schedule.last_order_id, schedule.current_order_id = schedule.current_order_id, None
    schedule.updated_at = now
