"""``/v1/refund-requests`` for customers; ``/v1/admin/refund-requests`` and
``/v1/admin/refund-policies`` for staff."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Path, Query, Response

from topup.accounts.auth import CurrentCustomer, require_role
from topup.accounts.models import Customer, Role
from topup.idempotency import service as idempotency
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError, NotFound
from topup.kit.http import IdempotencyKeyHeader, RuntimeDep, SessionDep, json_response
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.kit.schemas import error_responses
from topup.refunds import service
from topup.refunds.models import RefundPolicyRow, RefundRequest, RefundStatus
from topup.refunds.policy import PRODUCT_TYPE_PATTERN, RefundPolicy
from topup.refunds.quote import EUR, RefundRefused
from topup.refunds.repository import RefundRepository
from topup.refunds.schemas import (
    ApproveIn,
    RefundIn,
    RefundPolicyOut,
    RefundPreviewOut,
    RefundRequestList,
    RefundRequestOut,
    RejectIn,
    StaffRefundRequestList,
    StaffRefundRequestOut,
)

router = APIRouter(prefix="/v1/refund-requests", tags=["refunds"])
staff_router = APIRouter(prefix="/v1/admin", tags=["admin"])
# Staff deciding a request: not logged in, not staff or deciding one's own, no such
# request, already decided, invalid input.
DECIDING = error_responses(401, 403, 404, 409, 422)
Staff = Annotated[Customer, Depends(require_role(Role.support, Role.admin))]
Admin = Annotated[Customer, Depends(require_role(Role.admin))]
RefundRequestId = Annotated[str, Path(pattern=r"^rfd_[0-9a-f]{32}$")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=200)]
REQUEST_SCOPE = "POST /v1/refund-requests"


def _euros(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": EUR}


def _fields(request: RefundRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "order_id": request.order_id,
        "status": request.status,
        "amount": _euros(request.amount),
        "fee": _euros(request.fee),
        "net": _euros(request.net),
        "destination": request.destination,
        "answer_by": request.answer_by,
        "created_at": request.created_at,
        "reason": request.reason,
        "approval": request.approval,
        "decision_reason": request.decision_reason,
        "pay_by": request.pay_by,
        "paid_at": request.paid_at,
    }


def request_out(request: RefundRequest) -> dict[str, Any]:
    return RefundRequestOut(**_fields(request)).model_dump(mode="json")


def staff_request_out(request: RefundRequest) -> dict[str, Any]:
    overdue = request.status == RefundStatus.requested and clock.now() > request.answer_by
    return StaffRefundRequestOut(
        **_fields(request),
        customer_id=request.customer_id,
        details=request.details,
        overdue=overdue,
    ).model_dump(mode="json")


def _ask(body: RefundIn) -> service.AskForRefund:
    return service.AskForRefund(
        order_id=body.order_id,
        amount=body.amount.amount if body.amount else None,
        reason=body.reason,
        destination=body.destination,
        details=body.details,
    )


def _page(rows: list[Any], limit: int, render: Any) -> dict[str, Any]:
    page = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    return {"data": [render(row) for row in page], "next_cursor": next_cursor}


# ---- customers ------------------------------------------------------------------------------


@router.post("/preview", response_model=RefundPreviewOut, responses=error_responses(401, 404, 422))
async def preview_refund(
    body: RefundIn, customer: CurrentCustomer, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """What a refund request would get (the fee, the net amount, the answer date), or the
    rule that refuses it. Nothing is stored."""
    remaining = await service.remaining_balance(
        runtime.session_factory, runtime.supplier, customer, body.order_id
    )
    try:
        quoted = await service.quote_for(
            session, customer, _ask(body), runtime.business_calendar(), remaining=remaining
        )
    except RefundRefused as refused:
        answer = RefundPreviewOut(
            refundable=False,
            amount=None,
            fee=None,
            net=None,
            destination=body.destination,
            answer_by=None,
            rule=refused.rule,
            message=refused.reason_text,
        )
        return json_response(answer.model_dump(mode="json"))
    found = quoted.quote
    answer = RefundPreviewOut(
        refundable=True,
        amount=_euros(found.amount),
        fee=_euros(found.fee),
        net=_euros(found.net),
        destination=found.destination,
        answer_by=found.answer_by,
        rule=None,
    )
    return json_response(answer.model_dump(mode="json"))


@router.post(
    "",
    status_code=201,
    response_model=RefundRequestOut,
    responses=error_responses(401, 404, 409, 422),
)
async def create_refund_request(
    body: RefundIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Ask for a refund on the terms the preview showed. Refused with 422
    `refund_not_allowed` and the rule in `message`."""
    key = idempotency.checked_key(idempotency_key)
    claimed = await idempotency.claim_request(
        runtime.session_factory,
        secret=runtime.settings.secret_key,
        customer_id=customer.id,
        key=key,
        scope=REQUEST_SCOPE,
        body=body.model_dump(mode="json"),
    )
    if isinstance(claimed, idempotency.Replay):
        return json_response(claimed.body, claimed.status_code)
    try:
        remaining = await service.remaining_balance(
            runtime.session_factory, runtime.supplier, customer, body.order_id
        )
        async with (
            idempotency.released_on_outage(runtime.session_factory, runtime.detached, claimed),
            unit_of_work(runtime.session_factory) as session,
        ):
            request = await service.request_refund(
                session,
                customer,
                _ask(body),
                key=key,
                calendar=runtime.business_calendar(),
                remaining=remaining,
            )
            answer = request_out(request)
            await idempotency.complete(session, claimed, status_code=201, body=answer)
    except AppError:  # refused before anything was stored: the key is free again
        await idempotency.release(runtime.session_factory, claimed)
        raise
    if request.due_at is not None:  # an automatic check: start it now
        runtime.detached.start(
            service.advance_refund(runtime.refund_deps(), request.id), name="refund"
        )
    return json_response(answer, 201)


@router.get("", response_model=RefundRequestList, responses=error_responses(401, 422))
async def list_refund_requests(
    customer: CurrentCustomer, session: SessionDep, limit: Limit = 20, cursor: Cursor = None
) -> Response:
    rows = await RefundRepository(session).page_of(
        customer.id, limit=limit + 1, after=decode_cursor(cursor)
    )
    return json_response(_page(list(rows), limit, request_out))


@router.get(
    "/{request_id}", response_model=RefundRequestOut, responses=error_responses(401, 404, 422)
)
async def get_refund_request(
    request_id: RefundRequestId, customer: CurrentCustomer, session: SessionDep
) -> Response:
    request = await RefundRepository(session).request_of(customer.id, request_id)
    if request is None:
        raise NotFound("No such refund request.", code="refund_request_not_found", field="id")
    return json_response(request_out(request))


# ---- staff ----------------------------------------------------------------------------------


@staff_router.get(
    "/refund-requests",
    response_model=StaffRefundRequestList,
    responses=error_responses(401, 403, 422),
)
async def staff_list_refund_requests(
    staff: Staff,
    session: SessionDep,
    status: RefundStatus | None = None,
    overdue: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Refund requests, newest first; `overdue=true` keeps those still unanswered past
    the date the policy promised an answer by."""
    rows = await RefundRepository(session).staff_page(
        status=status.value if status else None,
        overdue_at=clock.now() if overdue else None,
        limit=limit + 1,
        after=decode_cursor(cursor),
    )
    return json_response(_page(list(rows), limit, staff_request_out))


@staff_router.post(
    "/refund-requests/{request_id}/approve",
    response_model=StaffRefundRequestOut,
    responses=DECIDING,
)
async def approve_refund_request(
    request_id: RefundRequestId,
    staff: Staff,
    runtime: RuntimeDep,
    body: Annotated[ApproveIn | None, Body()] = None,
) -> Response:
    """Approve a request; it is paid at once, or by the worker if the card network is slow."""
    async with unit_of_work(runtime.session_factory) as session:
        request = await service.approve(
            session,
            request_id,
            actor=staff.id,
            calendar=runtime.business_calendar(),
            note=body.note if body else None,
        )
        answer = staff_request_out(request)
    runtime.detached.start(service.advance_refund(runtime.refund_deps(), request_id), name="refund")
    return json_response(answer)


@staff_router.post(
    "/refund-requests/{request_id}/reject", response_model=StaffRefundRequestOut, responses=DECIDING
)
async def reject_refund_request(
    request_id: RefundRequestId, body: RejectIn, staff: Staff, session: SessionDep
) -> Response:
    """Refuse a request with the reason the customer will read."""
    request = await service.reject(session, request_id, actor=staff.id, reason=body.reason)
    return json_response(staff_request_out(request))


def policy_out(row: RefundPolicyRow) -> dict[str, Any]:
    return RefundPolicyOut(
        product_type=row.product_type,
        version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        policy=orjson.loads(row.document),
    ).model_dump(mode="json")


@staff_router.get("/refund-policies", responses=error_responses(401, 403))
async def list_refund_policies(staff: Staff, session: SessionDep) -> Response:
    """Every product type's refund policy, as customers are held to it now."""
    rows = await service.all_policies(session)
    return json_response({"data": [policy_out(row) for row in rows]})


@staff_router.put(
    "/refund-policies/{product_type}",
    response_model=RefundPolicyOut,
    responses=error_responses(401, 403, 422),
)
async def put_refund_policy(
    product_type: Annotated[str, Path(pattern=PRODUCT_TYPE_PATTERN)],
    body: RefundPolicy,
    admin: Admin,
    session: SessionDep,
) -> Response:
    """Replace a product type's refund policy (admins only). Requests already made keep
    the figures they were given."""
    row = await service.put_policy(session, product_type, body, actor=admin.id)
    return json_response(policy_out(row))
