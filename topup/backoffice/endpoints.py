"""``/v1/admin``: rules, the review queue, blocks and the audit log, for staff only.

Support users work the review queue, block and unblock, and read the audit log; changing
a rule takes an admin. Every action here is written to the audit log with who did it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from topup.accounts.auth import require_role
from topup.accounts.endpoints import customer_out
from topup.accounts.models import Customer, Role
from topup.accounts.schemas import CustomerEnvelope
from topup.backoffice.schemas import (
    CardBlockIn,
    CardBlockOut,
    DecisionList,
    DecisionOut,
    ReasonIn,
    ReviewQueue,
    StaffOrderOut,
)
from topup.kit.db import unit_of_work
from topup.kit.errors import Forbidden, InvalidInput, NotFound
from topup.kit.http import RuntimeDep, SessionDep, json_response
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.kit.schemas import error_responses
from topup.orders import review
from topup.orders.endpoints import OrderId
from topup.orders.lifecycle import drive, review_deadline
from topup.orders.models import Order, OrderStatus
from topup.orders.placement import order_out
from topup.orders.repository import OrderRepository
from topup.payments.repository import CardRepository
from topup.risk import blocks, rules
from topup.risk.models import RiskDecision
from topup.risk.repository import RiskRepository
from topup.risk.schemas import LimitRuleIn, MarketRuleIn, SignalRuleIn, ThresholdsIn

router = APIRouter(prefix="/v1/admin", tags=["admin"])
# Every staff route: no token (401), not staff or not an admin (403).
STAFF_READ = error_responses(401, 403)
STAFF_WRITE = error_responses(401, 403, 422)
STAFF_ON_ONE = error_responses(401, 403, 404, 422)
Staff = Annotated[Customer, Depends(require_role(Role.support, Role.admin))]
Admin = Annotated[Customer, Depends(require_role(Role.admin))]
CustomerId = Annotated[str, Path(pattern=r"^cus_[0-9a-f]{32}$")]
RuleId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Market = Annotated[str, Path(pattern=r"^[A-Z]{2}$")]
Fingerprint = Annotated[str, Path(pattern=r"^[0-9a-zA-Z_-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=200)]


# ---- rules ------------------------------------------------------------------------------


@router.get("/rules", responses=STAFF_READ)
async def list_rules(staff: Staff, session: SessionDep) -> Response:
    repository = RiskRepository(session)
    thresholds = await repository.thresholds()
    return json_response(
        {
            "limits": [_row(rule) for rule in await repository.limit_rules(enabled_only=False)],
            "markets": [_row(rule) for rule in await repository.market_rules()],
            "signals": [_row(rule) for rule in await repository.signal_rules()],
            "thresholds": _row(thresholds) if thresholds else None,
        }
    )


@router.put("/rules/limits/{rule_id}", responses=STAFF_WRITE)
async def put_limit(
    rule_id: RuleId, body: LimitRuleIn, admin: Admin, session: SessionDep
) -> Response:
    """Create or change a rolling-window limit."""
    return json_response(_row(await rules.put_limit_rule(session, rule_id, body, actor=admin.id)))


@router.put("/rules/markets/{market}", responses=STAFF_WRITE)
async def put_market(
    market: Market, body: MarketRuleIn, admin: Admin, session: SessionDep
) -> Response:
    return json_response(_row(await rules.put_market_rule(session, market, body, actor=admin.id)))


@router.put("/rules/signals/{signal_id}", responses=STAFF_ON_ONE)
async def put_signal(
    signal_id: RuleId, body: SignalRuleIn, admin: Admin, session: SessionDep
) -> Response:
    return json_response(
        _row(await rules.put_signal_rule(session, signal_id, body, actor=admin.id))
    )


@router.put("/rules/thresholds", responses=STAFF_WRITE)
async def put_thresholds(body: ThresholdsIn, admin: Admin, session: SessionDep) -> Response:
    return json_response(_row(await rules.put_thresholds(session, body, actor=admin.id)))


# ---- the review queue ----------------------------------------------------------------------


@router.get("/reviews", response_model=ReviewQueue, responses=STAFF_WRITE)
async def review_queue(
    staff: Staff, session: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    """Orders held for review, the nearest deadline first."""
    rows = await RiskRepository(session).orders_in_review(
        limit=limit + 1, after=decode_cursor(cursor)
    )
    page = rows[:limit]
    next_cursor = (
        encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit and page else None
    )
    data = [await _staff_order(session, order) for order in page]
    return json_response({"data": data, "next_cursor": next_cursor})


@router.get("/orders/{order_id}", response_model=StaffOrderOut, responses=STAFF_ON_ONE)
async def staff_order(order_id: OrderId, staff: Staff, session: SessionDep) -> Response:
    return json_response(await _staff_order(session, await _order(session, order_id)))


@router.post(
    "/reviews/{order_id}/approve",
    response_model=StaffOrderOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def approve(order_id: OrderId, staff: Staff, runtime: RuntimeDep) -> Response:
    """Send the held order on to the supplier."""
    async with unit_of_work(runtime.session_factory) as session:
        await review.approve(session, order_id, actor=staff.id)
    return await _after_decision(runtime, order_id)


@router.post(
    "/reviews/{order_id}/reject",
    response_model=StaffOrderOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def reject(order_id: OrderId, body: ReasonIn, staff: Staff, runtime: RuntimeDep) -> Response:
    """Refuse the held order: its card hold is voided, it ends ``rejected``."""
    async with unit_of_work(runtime.session_factory) as session:
        await review.reject(session, order_id, actor=staff.id, reason=body.reason)
    return await _after_decision(runtime, order_id)


async def _after_decision(runtime: RuntimeDep, order_id: str) -> Response:
    # The decision is stored; moving the order on is the lifecycle's, as for any order.
    await drive(runtime.order_deps(), order_id)
    async with runtime.session_factory() as session:
        return json_response(await _staff_order(session, await _order(session, order_id)))


# ---- blocks ---------------------------------------------------------------------------------


@router.post(
    "/customers/{customer_id}/block", response_model=CustomerEnvelope, responses=STAFF_WRITE
)
async def block_customer(
    customer_id: CustomerId, body: ReasonIn, staff: Staff, session: SessionDep
) -> CustomerEnvelope:
    _not_yourself(staff, customer_id)
    customer = await blocks.block_customer(session, customer_id, reason=body.reason, actor=staff.id)
    return CustomerEnvelope(customer=customer_out(customer))


@router.delete(
    "/customers/{customer_id}/block", response_model=CustomerEnvelope, responses=STAFF_WRITE
)
async def unblock_customer(
    customer_id: CustomerId, staff: Staff, session: SessionDep
) -> CustomerEnvelope:
    _not_yourself(staff, customer_id)
    customer = await blocks.unblock_customer(session, customer_id, actor=staff.id)
    return CustomerEnvelope(customer=customer_out(customer))


@router.post("/cards/blocks", status_code=201, response_model=CardBlockOut, responses=STAFF_ON_ONE)
async def block_card(body: CardBlockIn, staff: Staff, session: SessionDep) -> Response:
    fingerprint = await _fingerprint_of(session, body)
    block = await blocks.block_card(session, fingerprint, reason=body.reason, actor=staff.id)
    return json_response(
        CardBlockOut.model_validate(block, from_attributes=True).model_dump(mode="json"), 201
    )


@router.delete("/cards/blocks/{fingerprint}", status_code=204, responses=STAFF_ON_ONE)
async def unblock_card(fingerprint: Fingerprint, staff: Staff, session: SessionDep) -> Response:
    await blocks.unblock_card(session, fingerprint, actor=staff.id)
    return Response(status_code=204)


def _not_yourself(staff: Customer, customer_id: str) -> None:
    if staff.id == customer_id:
        raise Forbidden("Staff cannot block or unblock their own account.", code="own_account")


async def _fingerprint_of(session: SessionDep, body: CardBlockIn) -> str:
    if (body.card_id is None) == (body.fingerprint is None):
        raise InvalidInput(
            "Name the card by card_id or by fingerprint (one of them).",
            code="invalid_field",
            field="card_id",
        )
    if body.fingerprint is not None:
        return body.fingerprint
    card = await CardRepository(session).card(body.card_id or "")
    if card is None:
        raise NotFound("No such saved card.", code="card_not_found", field="card_id")
    return card.fingerprint


# ---- the audit log ----------------------------------------------------------------------------


@router.get("/audit", response_model=DecisionList, responses=STAFF_WRITE)
async def audit_log(
    staff: Staff,
    session: SessionDep,
    order_id: Annotated[str | None, Query(max_length=40)] = None,
    customer_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Every decision, newest first; by order, by customer, or all."""
    rows = await RiskRepository(session).decisions(
        order_id=order_id, customer_id=customer_id, limit=limit + 1, after=decode_cursor(cursor)
    )
    page = rows[:limit]
    next_cursor = (
        encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit and page else None
    )
    return json_response({"data": [_decision(row) for row in page], "next_cursor": next_cursor})


# ---- shapes ------------------------------------------------------------------------------------


async def _order(session: SessionDep, order_id: str) -> Order:
    order = await OrderRepository(session).order(order_id)
    if order is None:
        raise NotFound("No such order.", code="order_not_found", field="order_id")
    return order


async def _staff_order(session: Any, order: Order) -> dict[str, Any]:
    decisions = await RiskRepository(session).decisions(
        order_id=order.id, customer_id=None, limit=50, after=None
    )
    return StaffOrderOut(
        order=order_out(order),
        customer_id=order.customer_id,
        risk_outcome=order.risk_outcome,
        risk_score=order.risk_score,
        review_decision=order.review_decision,
        review_deadline=review_deadline(order) if order.status == OrderStatus.review else None,
        card_fingerprint=order.card_fingerprint,
        card_country=order.card_country,
        decisions=[DecisionOut.model_validate(row, from_attributes=True) for row in decisions],
    ).model_dump(mode="json")


def _decision(row: RiskDecision) -> dict[str, Any]:
    return DecisionOut.model_validate(row, from_attributes=True).model_dump(mode="json")


def _row(row: Any) -> dict[str, Any]:
    """A rule row as JSON: its columns, nothing else."""
    return {
        column.key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for column in row.__table__.columns
        for value in [getattr(row, column.key)]
    }
