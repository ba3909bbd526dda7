"""``/v1/schedules``: auto top-ups. Make one, list and read them, change the card or the
product, pause, resume, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.auth import CurrentCustomer
from topup.accounts.models import Customer
from topup.catalogue.snapshot import CatalogueSnapshot
from topup.idempotency import service as idempotency
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError
from topup.kit.http import IdempotencyKeyHeader, RuntimeDep, SessionDep, json_response
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.kit.schemas import error_responses
from topup.orders.pricing import split_price
from topup.runtime import Runtime
from topup.schedules import service
from topup.schedules.models import Schedule, ScheduleStatus
from topup.schedules.repository import ScheduleRepository
from topup.schedules.schemas import (
    ScheduleChangeIn,
    ScheduleIn,
    ScheduleList,
    ScheduleOut,
)

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])
ScheduleId = Annotated[str, Path(pattern=r"^sch_[0-9a-f]{32}$")]
CREATE_SCOPE = "POST /v1/schedules"
# Making or changing one: not logged in, the account may not buy, too many schedules or a
# cancelled one, invalid input (each field named).
CHANGING = error_responses(401, 403, 404, 409, 422)


def schedule_out(
    schedule: Schedule,
    snapshot: CatalogueSnapshot,
    orders: dict[str, tuple[str, str | None]],
) -> dict[str, Any]:
    product = snapshot.product(schedule.product_id)
    price = None
    if product is not None and product.operator_id == schedule.operator_id:
        price = {"amount": split_price(product, schedule.local_amount).price, "currency": "EUR"}
    order_id = schedule.current_order_id or schedule.last_order_id
    status, failure = orders.get(order_id, (None, None)) if order_id else (None, None)
    last_run = None
    if schedule.last_run_at is not None or order_id is not None:
        last_run = {
            "order_id": order_id,
            "status": status,
            "failure_code": failure or schedule.last_failure_code,
            "at": schedule.last_run_at,
        }
    active = schedule.status == ScheduleStatus.active
    return ScheduleOut(
        id=schedule.id,
        status=schedule.status,
        every=schedule.every,
        next_run_at=schedule.next_run_at if active else None,
        day_of_month=schedule.day_of_month,
        recipient_phone=schedule.recipient_phone,
        operator={"id": schedule.operator_id, "name": schedule.operator_name},
        product_id=schedule.product_id,
        local_value={"amount": schedule.local_amount, "currency": schedule.local_currency},
        price=price,
        card={"id": schedule.card_id, "brand": schedule.card_brand, "last4": schedule.card_last4},
        pause_reason=schedule.pause_reason,
        paused_at=schedule.paused_at,
        failed_attempts=schedule.failed_attempts,
        retry_at=schedule.due_at if active and schedule.failed_attempts else None,
        last_run=last_run,
        cancelled_at=schedule.cancelled_at,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
    ).model_dump(mode="json")


async def _rendered(
    runtime: Runtime, session: AsyncSession, schedules: list[Schedule]
) -> list[dict[str, Any]]:
    order_ids = [
        order_id
        for schedule in schedules
        if (order_id := schedule.current_order_id or schedule.last_order_id)
    ]
    orders = await ScheduleRepository(session).order_statuses(order_ids)
    snapshot = await runtime.catalogue.get()
    return [schedule_out(schedule, snapshot, orders) for schedule in schedules]


async def _lookups(runtime: Runtime) -> service.Lookups:
    return service.Lookups(await runtime.catalogue.get(), runtime.number_lookup)


def _new_schedule(body: ScheduleIn) -> service.NewSchedule:
    return service.NewSchedule(
        recipient_phone=body.recipient_phone,
        product_id=body.product_id,
        amount=body.amount.amount if body.amount else None,
        amount_currency=body.amount.currency if body.amount else None,
        card_id=body.card_id,
        every=body.every,
        day_of_month=body.day_of_month,
        first_run_at=body.first_run_at,
    )


@router.post("", status_code=201, response_model=ScheduleOut, responses=CHANGING)
async def create_schedule(
    body: ScheduleIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Top a number up again and again with a saved card: every 7, 14, 28 or 30 days, or
    monthly on `day_of_month`. The first top-up goes at `first_run_at` (default: now).
    An optional `Idempotency-Key` makes a retried request answer with the same schedule."""
    if idempotency_key is None:
        async with unit_of_work(runtime.session_factory) as session:
            answer = await _create(runtime, session, customer, body)
        return json_response(answer, 201)
    claimed = await idempotency.claim_request(
        runtime.session_factory,
        secret=runtime.settings.secret_key,
        customer_id=customer.id,
        key=idempotency.checked_key(idempotency_key),
        scope=CREATE_SCOPE,
        body=body.model_dump(mode="json"),
    )
    if isinstance(claimed, idempotency.Replay):
        return json_response(claimed.body, claimed.status_code)
    try:
        async with (
            idempotency.released_on_outage(runtime.session_factory, runtime.detached, claimed),
            unit_of_work(runtime.session_factory) as session,
        ):
            answer = await _create(runtime, session, customer, body)
            await idempotency.complete(session, claimed, status_code=201, body=answer)
    except AppError:  # refused before anything was stored: the key is free again
        await idempotency.release(runtime.session_factory, claimed)
        raise
    return json_response(answer, 201)


async def _create(
    runtime: Runtime, session: AsyncSession, customer: Customer, body: ScheduleIn
) -> dict[str, Any]:
    schedule = await service.create_schedule(
        session, await _lookups(runtime), customer, _new_schedule(body)
    )
    [answer] = await _rendered(runtime, session, [schedule])
    return answer


@router.get("", response_model=ScheduleList, responses=error_responses(401, 422))
async def list_schedules(
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """This customer's schedules, newest first, cancelled ones included."""
    rows = await ScheduleRepository(session).page_of(
        customer.id, limit=limit + 1, after=decode_cursor(cursor)
    )
    page = list(rows[:limit])
    more = len(rows) > limit
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    data = await _rendered(runtime, session, page)
    return json_response({"data": data, "next_cursor": next_cursor})


@router.get("/{schedule_id}", response_model=ScheduleOut, responses=error_responses(401, 404, 422))
async def get_schedule(
    schedule_id: ScheduleId, customer: CurrentCustomer, runtime: RuntimeDep, session: SessionDep
) -> Response:
    schedule = await service.schedule_of(session, customer, schedule_id)
    [answer] = await _rendered(runtime, session, [schedule])
    return json_response(answer)


@router.patch("/{schedule_id}", response_model=ScheduleOut, responses=CHANGING)
async def change_schedule(
    schedule_id: ScheduleId,
    body: ScheduleChangeIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    """Pay with another saved card (`card_id`), or send another product (`product_id`,
    and `amount` for a range product) of the operator that serves the number today."""
    changes = service.ScheduleChanges(
        card_id=body.card_id,
        product_id=body.product_id,
        amount=body.amount.amount if body.amount else None,
        amount_currency=body.amount.currency if body.amount else None,
        given=frozenset(body.model_fields_set),
    )
    schedule = await service.change_schedule(
        session, await _lookups(runtime), customer, schedule_id, changes
    )
    [answer] = await _rendered(runtime, session, [schedule])
    return json_response(answer)


@router.post(
    "/{schedule_id}/pause",
    response_model=ScheduleOut,
    responses=error_responses(401, 404, 409, 422),
)
async def pause_schedule(
    schedule_id: ScheduleId, customer: CurrentCustomer, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """No top-ups until resumed; a top-up already under way finishes."""
    schedule = await service.pause_schedule(session, customer, schedule_id)
    [answer] = await _rendered(runtime, session, [schedule])
    return json_response(answer)


@router.post("/{schedule_id}/resume", response_model=ScheduleOut, responses=CHANGING)
async def resume_schedule(
    schedule_id: ScheduleId, customer: CurrentCustomer, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Active again from the next due date after now. Paused because the number moved to
    another operator: 409 `operator_changed` until a product of the new one is chosen."""
    schedule = await service.resume_schedule(
        session, await _lookups(runtime), customer, schedule_id
    )
    [answer] = await _rendered(runtime, session, [schedule])
    return json_response(answer)


@router.delete("/{schedule_id}", status_code=204, responses=error_responses(401, 404, 422))
async def cancel_schedule(
    schedule_id: ScheduleId, customer: CurrentCustomer, session: SessionDep
) -> Response:
    """Cancelled for good: no further runs. A top-up already under way finishes."""
    await service.cancel_schedule(session, customer, schedule_id)
    return Response(status_code=204)
