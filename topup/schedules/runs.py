"""A schedule's run: the worker places the due date's order, then follows it to its end.

One step of the worker does what the row says is next:

1. No attempt in flight and the due date reached: look the recipient up (a number that
   moved to another operator pauses the schedule, no order), write the run's intent row,
   place the order through ``place_once`` under the key
   ``schedule:{id}:{due date}`` (``…:retry{n}`` for a retry), record the order on the
   schedule, and drive it as the API's fast path would.
2. An attempt in flight: read its order. Still moving: look again shortly. Ended:
   succeeded → the next due date; failed, declined or rejected → a retry after a delay,
   and after ``MAX_FAILED_ATTEMPTS`` the schedule pauses and the customer gets an email.

Exactly once, whatever races or crashes: the intent row is unique per (schedule, due
date, attempt), so of two workers only one writes it; one that finds it already written
places under the same key, and the key gives back the order already placed. So a crash
between placing the order and recording it, or two workers on one row, still make one
order per due date. Every write checks, under the schedule's lock, that the row is still
where the step found it (the customer may have paused or cancelled meanwhile), and so does
the order's own transaction before it places the order: a schedule paused or cancelled
after its intent was written charges nothing. The number is looked up before that
transaction and its answer passed in, so the schedule's lock is held across no call to
the supplier.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import Customer, CustomerStatus
from topup.accounts.repository import AccountRepository
from topup.kit import clock, faults
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError, Conflict
from topup.kit.ids import new_id
from topup.lookup.service import LookupResult
from topup.notifications import schedules as schedule_messages
from topup.orders.lifecycle import drive
from topup.orders.models import ACTIVE_STATUSES, Order, OrderStatus
from topup.orders.placement import Guard, place_once
from topup.orders.service import PlaceOrder
from topup.runtime import Runtime
from topup.schedules.dates import Every, next_after
from topup.schedules.models import PauseReason, RunOutcome, Schedule, ScheduleRun, ScheduleStatus
from topup.schedules.repository import ScheduleRepository
from topup.schedules.service import Lookups, cancel, pause, recipient

log = structlog.get_logger("topup.schedules")

# A change to the schedule, made under its lock; a note on its run rows, made whatever
# the schedule became meanwhile.
Change = Callable[[AsyncSession, Schedule], Awaitable[None]]
Note = Callable[[ScheduleRepository, Schedule], Awaitable[None]]

SCOPE = "schedule"  # the idempotency scope of the orders runs place
# Retries of a failed run, after the first attempt and the second; the third failure
# pauses. A declined card or a full limit is seldom fixed within minutes, and a day later
# the customer should hear of it rather than wait for a fourth try.
RETRY_DELAYS = (timedelta(hours=1), timedelta(hours=6))
MAX_FAILED_ATTEMPTS = len(RETRY_DELAYS) + 1
# Following an order in flight: soon at first, then less often the longer it takes (an
# order may stay pending for 24 hours).
FOLLOW_MIN, FOLLOW_MAX = timedelta(seconds=30), timedelta(minutes=30)
IN_USE = "idempotency_key_in_use"
# A run's guard found the schedule paused or cancelled after the intent was written.
SCHEDULE_MOVED = "schedule_not_active"

# Refusals no retry can change: the schedule pauses at once, with the reason the customer
# reads. Any other refusal (an operator paused for an hour, say) is retried.
PAUSE_AT_ONCE = {
    "card_not_found": PauseReason.card_not_found,
    "card_blocked": PauseReason.payment_failed,
    "account_blocked": PauseReason.account_restricted,
    "phone_not_verified": PauseReason.account_restricted,
    "profile_incomplete": PauseReason.account_restricted,
    "market_restricted": PauseReason.account_restricted,
    "unauthorized": PauseReason.account_restricted,
    "product_not_found": PauseReason.product_unavailable,
    "product_not_for_operator": PauseReason.product_unavailable,
    "invalid_amount": PauseReason.product_unavailable,
    "missing_field": PauseReason.product_unavailable,
    "not_prepaid": PauseReason.recipient_unavailable,
    "invalid_phone": PauseReason.recipient_unavailable,
    "unsupported_country": PauseReason.recipient_unavailable,
}
# What repeated failures of each kind pause with.
PAUSE_AFTER_RETRIES = {
    OrderStatus.declined.value: PauseReason.payment_failed,
    OrderStatus.failed.value: PauseReason.topup_failed,
    OrderStatus.rejected.value: PauseReason.limit_exceeded,
}


def run_key(schedule_id: str, due_at: datetime, attempt: int) -> str:
    key = f"schedule:{schedule_id}:{due_at.isoformat()}"
    return key if attempt == 0 else f"{key}:retry{attempt}"


async def run_schedule(runtime: Runtime, schedule_id: str) -> None:
    """The worker's step for one schedule it has leased."""
    async with runtime.session_factory() as session:
        schedule = await ScheduleRepository(session).schedule(schedule_id)
    if schedule is None or schedule.status != ScheduleStatus.active:
        return
    if schedule.current_order_id is not None:
        await follow(runtime, schedule.id, schedule.current_order_id)
    elif schedule.next_run_at > clock.now():  # woken early (a stale lease): wait for the date
        await _record(runtime, schedule, _wait_for_due_date)
    else:
        await _attempt(runtime, schedule)


# ---- placing the order ----------------------------------------------------------------------


async def _attempt(runtime: Runtime, schedule: Schedule) -> None:
    due, attempt = schedule.next_run_at, schedule.failed_attempts
    customer = await _customer(runtime, schedule.customer_id)
    if customer is None:  # erased: its schedules end with it
        await _record(runtime, schedule, _cancelled)
        return
    async with runtime.session_factory() as session:
        intent = await ScheduleRepository(session).run_for(schedule.id, due, attempt)
    if intent is None:
        # The decision to run is taken once, before the intent is written; a worker that
        # finds the intent (after a crash, or beside another worker) only finishes it.
        found = await _recipient_still_fits(runtime, schedule)
        if found is None:
            return
        if not await _write_intent(runtime, schedule):
            return  # another worker wrote it first and is placing the order
    elif intent.order_id is not None:
        # Placed and noted on the run, but the schedule did not take it up: it does now.
        await _record(runtime, schedule, _placed(intent.order_id))
        await follow(runtime, schedule.id, intent.order_id)
        return
    else:
        found = await _recipient_for_intent(runtime, schedule)
        if found is None:
            return
    await _place(runtime, schedule, customer, found)


async def _cancelled(session: AsyncSession, row: Schedule) -> None:
    cancel(row, clock.now())


async def _customer(runtime: Runtime, customer_id: str) -> Customer | None:
    async with runtime.session_factory() as session:
        customer = await AccountRepository(session).customer(customer_id)
    if customer is None or customer.status == CustomerStatus.deleted:
        return None
    return customer


async def _recipient_still_fits(runtime: Runtime, schedule: Schedule) -> LookupResult | None:
    """The number looked up as an order would: a refusal counts as a failed attempt, and
    another operator than the schedule's pauses it at once (the product and its price
    belong to the old one: better ask the customer than top up the wrong network).
    ``None`` when no order is to be placed; otherwise the recipient the order is for."""
    assert schedule.recipient_phone is not None
    lookups = Lookups(await runtime.catalogue.get(), runtime.number_lookup)
    try:
        found = await recipient(lookups, schedule.recipient_phone)
    except AppError as refusal:
        await _record(runtime, schedule, _refused(refusal.code, None))
        return None
    if found.operator.id == schedule.operator_id:
        return found
    new_operator = found.operator.name

    async def moved(session: AsyncSession, row: Schedule) -> None:
        row.last_failure_code = PauseReason.operator_changed.value
        pause(row, PauseReason.operator_changed, clock.now())
        log.info("schedule_paused", schedule_id=row.id, reason=PauseReason.operator_changed.value)
        await schedule_messages.schedule_paused(session, row, new_operator=new_operator)

    await _record(runtime, schedule, moved)
    return None


async def _recipient_for_intent(runtime: Runtime, schedule: Schedule) -> LookupResult | None:
    """The number looked up again to finish an intent already written (the decision to
    run was taken): a refusal fails the attempt, as the placement's own would."""
    assert schedule.recipient_phone is not None
    lookups = Lookups(await runtime.catalogue.get(), runtime.number_lookup)
    try:
        return await recipient(lookups, schedule.recipient_phone)
    except AppError as refusal:
        run = (schedule.next_run_at, schedule.failed_attempts)
        await _record(runtime, schedule, _refused(refusal.code, run))
        return None


async def _write_intent(runtime: Runtime, schedule: Schedule) -> bool:
    due, attempt = schedule.next_run_at, schedule.failed_attempts
    now = clock.now()
    try:
        async with unit_of_work(runtime.session_factory) as session:
            repository = ScheduleRepository(session)
            row = await repository.locked(schedule.id)
            if row is None or not _unchanged(row, schedule):
                return False
            repository.add(
                ScheduleRun(
                    id=new_id("run"),
                    schedule_id=schedule.id,
                    due_at=due,
                    attempt=attempt,
                    idempotency_key=run_key(schedule.id, due, attempt),
                    order_id=None,
                    outcome=RunOutcome.placing.value,
                    failure_code=None,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


async def _place(
    runtime: Runtime, schedule: Schedule, customer: Customer, found: LookupResult
) -> None:
    due, attempt = schedule.next_run_at, schedule.failed_attempts
    assert schedule.recipient_phone is not None
    request = PlaceOrder(
        recipient_phone=schedule.recipient_phone,
        product_id=schedule.product_id,
        amount=schedule.local_amount,
        amount_currency=schedule.local_currency,
        card_id=schedule.card_id,
        new_card=None,
        message=None,
        # The customer asked for this top-up by making the schedule: no "you topped up
        # this number minutes ago" question. Limits and fraud rules apply as to any order.
        confirm_duplicate=True,
    )
    # The fingerprint names the run, not its card or product: a retry after a crash
    # replays the first placement even if the customer changed the card in between.
    fingerprint = {"schedule_id": schedule.id, "due_at": due.isoformat(), "attempt": attempt}
    key = run_key(schedule.id, due, attempt)
    try:
        placed = await place_once(
            runtime,
            customer,
            key,
            SCOPE,
            fingerprint,
            request,
            found=found,  # looked up before: the schedule's lock is held across no call
            guard=_still_as_seen(schedule),
        )
    except AppError as refusal:
        if refusal.code == IN_USE:  # another worker is placing it this very moment
            return
        if refusal.code == SCHEDULE_MOVED:  # paused or cancelled since: nothing is charged
            await _record(runtime, schedule, _no_change, always=_note_moved(schedule))
            return
        await _record(runtime, schedule, _refused(refusal.code, (due, attempt)))
        return
    order_id = placed.order_id or str(placed.body["id"])
    faults.checkpoint("schedule.order_placed")
    await _record(runtime, schedule, _placed(order_id), always=_note_order(order_id))
    if placed.order_id is not None:  # this call placed it: move it on now, as the API does
        await drive(runtime.order_deps(), order_id)
        await follow(runtime, schedule.id, order_id)


def _still_as_seen(schedule: Schedule) -> Guard:
    """The guard of the order's transaction: the schedule, locked, is still active at the
    run's due date and attempt. A customer who paused or cancelled it after the intent
    was written (a moment before the order) is not charged; once the order commits, a
    pause or a cancellation lets it finish, as any order in flight."""

    async def guard(session: AsyncSession) -> None:
        row = await ScheduleRepository(session).locked(schedule.id)
        if row is None or not _unchanged(row, schedule):
            raise Conflict(
                "The schedule changed before its run placed the order.", code=SCHEDULE_MOVED
            )

    return guard


async def _no_change(session: AsyncSession, row: Schedule) -> None:
    return None


def _note_moved(schedule: Schedule) -> Note:
    """The run that placed nothing says so: refused, as the schedule no longer ran."""

    async def note(repository: ScheduleRepository, seen: Schedule) -> None:
        run = await repository.run_for(schedule.id, schedule.next_run_at, schedule.failed_attempts)
        if run is not None and run.order_id is None:
            run.outcome, run.failure_code = RunOutcome.refused.value, SCHEDULE_MOVED
            run.updated_at = clock.now()

    return note


def _placed(order_id: str) -> Change:
    async def change(session: AsyncSession, row: Schedule) -> None:
        row.current_order_id = order_id
        row.due_at = clock.now() + FOLLOW_MIN

    return change


def _note_order(order_id: str) -> Note:
    """The run row learns its order even when the schedule moved on meanwhile (the
    customer cancelled it): the order exists, and the history says which run made it."""

    async def note(repository: ScheduleRepository, schedule: Schedule) -> None:
        run = await repository.run_for(schedule.id, schedule.next_run_at, schedule.failed_attempts)
        if run is not None and run.order_id is None:
            run.order_id = order_id
            run.outcome = RunOutcome.placed.value
            run.updated_at = clock.now()

    return note


# ---- following the order --------------------------------------------------------------------


async def follow(runtime: Runtime, schedule_id: str, order_id: str) -> None:
    """Read the order of the attempt in flight and move the schedule on if it ended."""
    async with runtime.session_factory() as session:
        repository = ScheduleRepository(session)
        schedule = await repository.schedule(schedule_id)
        order = await repository.order(order_id)
    if schedule is None or order is None or schedule.current_order_id != order_id:
        return
    if order.status in {status.value for status in ACTIVE_STATUSES}:
        await _record(runtime, schedule, _check_again(order))
        return
    await _record(runtime, schedule, _ended(order), always=_note_outcome(order))


def _check_again(order: Order) -> Change:
    async def change(session: AsyncSession, row: Schedule) -> None:
        now = clock.now()
        delay = min(max((now - order.created_at) / 4, FOLLOW_MIN), FOLLOW_MAX)
        row.due_at = now + delay

    return change


def _note_outcome(order: Order) -> Note:
    async def note(repository: ScheduleRepository, schedule: Schedule) -> None:
        run = await repository.run_of_order(order.id)
        if run is not None:
            run.outcome = order.status
            run.failure_code = order.failure_code
            run.updated_at = clock.now()

    return note


def _ended(order: Order) -> Change:
    async def change(session: AsyncSession, row: Schedule) -> None:
        now = clock.now()
        row.last_order_id, row.current_order_id = order.id, None
        row.last_run_at = now
        if order.status == OrderStatus.succeeded:
            row.failed_attempts = 0
            row.last_failure_code = None
            row.next_run_at = next_after(row.next_run_at, Every(row.every), row.day_of_month, now)
            row.due_at = row.next_run_at
            return
        code = order.failure_code or order.status
        reason = PAUSE_AFTER_RETRIES[order.status]
        await _failed(session, row, code, PAUSE_AT_ONCE.get(code), reason, now)

    return change


# ---- failures -------------------------------------------------------------------------------


def _refused(code: str, run: tuple[datetime, int] | None) -> Change:
    """A placement (or the lookup before it) refused with an error: no order exists."""

    async def change(session: AsyncSession, row: Schedule) -> None:
        now = clock.now()
        if run is not None:
            found = await ScheduleRepository(session).run_for(row.id, *run)
            if found is not None:
                found.outcome, found.failure_code, found.updated_at = (
                    RunOutcome.refused.value,
                    code,
                    now,
                )
        row.last_run_at = now
        await _failed(session, row, code, PAUSE_AT_ONCE.get(code), PauseReason.topup_failed, now)

    return change


async def _failed(
    session: AsyncSession,
    row: Schedule,
    code: str,
    at_once: PauseReason | None,
    after_retries: PauseReason,
    now: datetime,
) -> None:
    row.failed_attempts += 1
    row.last_failure_code = code
    if at_once is None and row.failed_attempts < MAX_FAILED_ATTEMPTS:
        row.due_at = now + RETRY_DELAYS[row.failed_attempts - 1]
        return
    reason = at_once or after_retries
    pause(row, reason, now)
    log.info("schedule_paused", schedule_id=row.id, reason=reason.value, failure_code=code)
    await schedule_messages.schedule_paused(session, row, new_operator=row.operator_name)


async def _wait_for_due_date(session: AsyncSession, row: Schedule) -> None:
    row.due_at = row.next_run_at


# ---- recording ------------------------------------------------------------------------------


def _unchanged(row: Schedule, seen: Schedule) -> bool:
    """The schedule is where the step found it: still active, at the same due date and
    attempt, following the same order."""
    return (
        row.status == ScheduleStatus.active
        and row.next_run_at == seen.next_run_at
        and row.failed_attempts == seen.failed_attempts
        and row.current_order_id == seen.current_order_id
    )


async def _record(
    runtime: Runtime,
    seen: Schedule,
    change: Change,
    *,
    always: Note | None = None,
) -> None:
    """Apply ``change`` to the schedule, in one transaction under its lock, if it is still
    where the step found it; ``always`` runs whatever the schedule became meanwhile."""
    async with unit_of_work(runtime.session_factory) as session:
        repository = ScheduleRepository(session)
        row = await repository.locked(seen.id)
        if row is None:
            return
        if always is not None:
            await always(repository, seen)
        if not _unchanged(row, seen):
            return
        await change(session, row)
        row.updated_at = clock.now()
