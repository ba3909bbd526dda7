"""Real orders through the Reloadly adapter against a misbehaving fake Reloadly, on both
databases: every unknown outcome leaves the order pending with its hold, the poll settles
it, the supplier never delivers twice, and the ledger check stays clean after each one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import settings_for
from tests.fixtures.reloadly_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    OPERATOR_IDS,
    WEBHOOK_SECRET,
    Fault,
    FaultKind,
    Route,
    RunningReloadly,
    signature,
)
from tests.orders.support import new_order
from topup.config import Settings, SupplierName
from topup.kit import clock
from topup.ledger.checks import check_ledger
from topup.orders.lifecycle import POLL_DELAYS, _step, advance
from topup.orders.models import Order
from topup.orders.repository import OrderRepository
from topup.orders.tasks import LEASE, run_due
from topup.providers.payments.sandbox_models import SandboxPayment
from topup.risk.models import RiskDecision
from topup.runtime import Runtime, build_runtime

SUCCEEDS = "+2348031234567"
SUCCEEDS_LATER = "+2348031230002"
PENDING_FOREVER = "+2348031230004"


@pytest.fixture
def settings(database_url: str, reloadly_server: RunningReloadly) -> Settings:
    return settings_for(
        database_url,
        supplier=SupplierName.reloadly,
        reloadly_api_url=reloadly_server.base_url,
        reloadly_auth_url=reloadly_server.base_url,
        reloadly_client_id=CLIENT_ID,
        reloadly_client_secret=SecretStr(CLIENT_SECRET),
        reloadly_webhook_secret=SecretStr(WEBHOOK_SECRET),
        reloadly_timeout_seconds=0.5,
        reloadly_operator_ids=OPERATOR_IDS,
    )


@pytest.fixture
async def runtime(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Runtime]:
    built = build_runtime(settings, engine)
    yield built
    await built.supplier.close()  # type: ignore[attr-defined]


async def order_row(runtime: Runtime, order_id: str) -> Order:
    async with runtime.session_factory() as session:
        order = await session.get(Order, order_id)
    assert order is not None
    return order


async def payment_status(runtime: Runtime, order_id: str) -> str:
    async with runtime.session_factory() as session:
        payment = await session.scalar(
            select(SandboxPayment).where(SandboxPayment.idempotency_key == f"{order_id}:authorize")
        )
    assert payment is not None
    return payment.status


async def assert_ledger_clean(runtime: Runtime) -> None:
    async with runtime.session_factory() as session:
        assert [str(breach) for breach in await check_ledger(session)] == []


async def assert_waiting_with_hold(runtime: Runtime, order_id: str) -> None:
    order = await order_row(runtime, order_id)
    assert (order.status, order.payment_status) == ("pending", "authorized")
    assert await payment_status(runtime, order_id) == "authorized"
    await assert_ledger_clean(runtime)


async def assert_settled_once(
    runtime: Runtime, server: RunningReloadly, order_id: str, expected: str
) -> None:
    """One final state, at most one top-up at Reloadly, captured exactly when delivered."""
    order = await order_row(runtime, order_id)
    assert order.status == expected
    assert server.reloadly.topups(order_id) <= 1
    transaction = server.reloadly.transaction(order_id)
    delivered = transaction is not None and transaction["status"] == "SUCCESSFUL"
    assert (order.status == "succeeded") is delivered
    assert (order.payment_status == "captured") is delivered
    assert (await payment_status(runtime, order_id) == "captured") is delivered
    await assert_ledger_clean(runtime)


async def poll_rounds(runtime: Runtime, rounds: int) -> None:
    for _ in range(rounds):
        clock.advance(LEASE.total_seconds() + max(POLL_DELAYS))
        await run_due(runtime.order_deps())


async def authorize_and_send(runtime: Runtime, phone: str) -> str:
    order_id = await new_order(runtime, phone)
    await advance(runtime.order_deps(), order_id)  # authorized: the hold is placed
    await advance(runtime.order_deps(), order_id)  # submitted, and the top-up sent
    return order_id


# Every fault after the top-up was made; before it, only those that need no answer to
# forge (an answer about a top-up needs the top-up).
SEND_FAULTS = [(kind, True) for kind in FaultKind] + [
    (kind, False) for kind in (FaultKind.delay, FaultKind.reset, FaultKind.server_error)
]


@pytest.mark.parametrize(
    ("kind", "delivered"),
    SEND_FAULTS,
    ids=[
        f"{kind}-{'after' if delivered else 'before'}-delivery" for kind, delivered in SEND_FAULTS
    ],
)
async def test_a_fault_on_the_send_leaves_the_order_pending_until_the_poll_settles_it(
    runtime: Runtime, reloadly_server: RunningReloadly, kind: FaultKind, delivered: bool
) -> None:
    reloadly_server.reloadly.fail_next(Route.send, Fault(kind, delivered, delay_seconds=1.5))

    order_id = await authorize_and_send(runtime, SUCCEEDS)

    await assert_waiting_with_hold(runtime, order_id)
    await poll_rounds(runtime, 3)
    await assert_settled_once(runtime, reloadly_server, order_id, "succeeded")


@pytest.mark.parametrize("route", [Route.report, Route.status, Route.token])
@pytest.mark.parametrize("kind", [FaultKind.reset, FaultKind.server_error, FaultKind.malformed])
async def test_a_fault_on_the_poll_keeps_it_pending_and_the_next_poll_settles_it(
    runtime: Runtime, reloadly_server: RunningReloadly, route: Route, kind: FaultKind
) -> None:
    order_id = await authorize_and_send(runtime, SUCCEEDS_LATER)
    await assert_waiting_with_hold(runtime, order_id)
    reloadly_server.reloadly.expire_tokens()  # so the poll asks for a token as well
    reloadly_server.reloadly.fail_next(route, Fault(kind))

    await poll_rounds(runtime, 1)
    await assert_waiting_with_hold(runtime, order_id)
    await poll_rounds(runtime, 2)

    await assert_settled_once(runtime, reloadly_server, order_id, "succeeded")


async def test_the_supplier_down_for_an_hour_loses_nothing(
    runtime: Runtime, reloadly_server: RunningReloadly
) -> None:
    reloadly_server.go_down()
    orders = [await authorize_and_send(runtime, phone) for phone in (SUCCEEDS, SUCCEEDS_LATER)]
    for _ in range(12):  # an hour, five minutes at a time
        clock.advance(300)
        await run_due(runtime.order_deps())
    for order_id in orders:
        await assert_waiting_with_hold(runtime, order_id)
        assert reloadly_server.reloadly.topups(order_id) == 0

    reloadly_server.come_back()
    await poll_rounds(runtime, 3)

    for order_id in orders:
        await assert_settled_once(runtime, reloadly_server, order_id, "succeeded")


async def test_the_supplier_down_past_24_hours_fails_the_order_and_releases_the_hold(
    runtime: Runtime, reloadly_server: RunningReloadly
) -> None:
    reloadly_server.go_down()
    order_id = await authorize_and_send(runtime, SUCCEEDS)
    await poll_rounds(runtime, 2)
    await assert_waiting_with_hold(runtime, order_id)

    clock.advance(24 * 3600)
    await poll_rounds(runtime, 2)

    order = await order_row(runtime, order_id)
    assert (order.status, order.failure_code) == ("failed", "supplier_timeout")
    reloadly_server.come_back()
    await assert_settled_once(runtime, reloadly_server, order_id, "failed")


async def test_a_top_up_delivered_is_captured_even_when_its_answer_comes_after_24_hours(
    runtime: Runtime, reloadly_server: RunningReloadly
) -> None:
    reloadly_server.reloadly.fail_next(Route.send, Fault(FaultKind.reset, delivered=True))
    order_id = await authorize_and_send(runtime, SUCCEEDS)
    reloadly_server.go_down()
    await poll_rounds(runtime, 2)

    clock.advance(24 * 3600)
    reloadly_server.come_back()  # back just as the order expires: its answer comes first
    await poll_rounds(runtime, 2)

    await assert_settled_once(runtime, reloadly_server, order_id, "succeeded")


async def test_a_contradicting_answer_to_a_stale_poll_moves_no_money(
    runtime: Runtime, reloadly_server: RunningReloadly
) -> None:
    """Two workers poll one order: the first is told "successful" and settles it, the
    second (still holding the pending order it read) is told "refunded" afterwards."""
    order_id = await new_order(runtime, SUCCEEDS)
    reloadly_server.reloadly.script(order_id, ["PROCESSING", "SUCCESSFUL", "REFUNDED"])
    deps = runtime.order_deps()
    await advance(deps, order_id)
    await advance(deps, order_id)
    async with runtime.session_factory() as session:
        stale = await OrderRepository(session).order(order_id)
    await advance(deps, order_id)  # the first poll: successful, captured

    with structlog.testing.capture_logs() as logs:
        await _step(deps, stale)  # the second: refunded, too late

    order = await order_row(runtime, order_id)
    assert (order.status, order.payment_status) == ("succeeded", "captured")
    assert await payment_status(runtime, order_id) == "captured"
    [line] = [entry for entry in logs if entry["event"] == "supplier_contradiction"]
    assert (line["order_id"], line["recorded_status"], line["answered_status"]) == (
        order_id,
        "succeeded",
        "failed",
    )
    await assert_contradiction_audited(runtime, order_id)
    await assert_ledger_clean(runtime)


async def assert_contradiction_audited(runtime: Runtime, order_id: str) -> None:
    async with runtime.session_factory() as session:
        [decision] = (
            await session.scalars(
                select(RiskDecision).where(
                    RiskDecision.order_id == order_id, RiskDecision.kind == "supplier_contradiction"
                )
            )
        ).all()
    assert decision.inputs["recorded_status"] == "succeeded"
    assert decision.outcome == "failed"


async def post_callback(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await client.post("/v1/suppliers/reloadly/callback", content=body, headers=headers)


async def test_a_signed_callback_makes_a_pending_order_due_now_and_the_poll_decides(
    client: httpx.AsyncClient, runtime: Runtime, reloadly_server: RunningReloadly
) -> None:
    order_id = await authorize_and_send(runtime, PENDING_FOREVER)
    reloadly_server.reloadly.script(order_id, ["SUCCESSFUL"])
    before = await order_row(runtime, order_id)
    assert before.due_at > clock.now()
    body, headers = reloadly_server.reloadly.webhook(order_id)

    answered = await post_callback(client, body, headers)

    assert answered.json() == {"received": True, "effect": "poll_now"}
    # Nothing moved on the callback's word: the order is only due, with its hold.
    await assert_waiting_with_hold(runtime, order_id)
    assert await run_due(runtime.order_deps()) == 1  # without moving the clock
    await assert_settled_once(runtime, reloadly_server, order_id, "succeeded")


async def test_a_late_callback_for_a_final_order_changes_nothing_but_a_contradiction_is_kept(
    client: httpx.AsyncClient, runtime: Runtime, reloadly_server: RunningReloadly
) -> None:
    order_id = await authorize_and_send(runtime, SUCCEEDS)
    await assert_settled_once(runtime, reloadly_server, order_id, "succeeded")
    body, headers = reloadly_server.reloadly.webhook(order_id)
    agreeing = await post_callback(client, body, headers)
    reloadly_server.reloadly.script(order_id, ["REFUNDED"])
    refunded_body, refunded_headers = reloadly_server.reloadly.webhook(order_id)
    refunded_body = refunded_body.replace(b'"SUCCESSFUL"', b'"REFUNDED"')
    refunded_headers = _resigned(refunded_body, refunded_headers)

    contradicting = await post_callback(client, refunded_body, refunded_headers)

    assert agreeing.json()["effect"] == "ignored"
    assert contradicting.json()["effect"] == "contradiction"
    order = await order_row(runtime, order_id)
    assert (order.status, order.payment_status) == ("succeeded", "captured")
    assert await payment_status(runtime, order_id) == "captured"
    await assert_contradiction_audited(runtime, order_id)
    await assert_ledger_clean(runtime)


def _resigned(body: bytes, headers: dict[str, str]) -> dict[str, str]:
    timestamp = headers["X-Reloadly-Request-Timestamp"]
    return headers | {"X-Reloadly-Signature": signature(body, timestamp)}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, headers: (body.replace(b"PROCESSING", b"SUCCESSFUL"), headers),
        lambda body, headers: (body, headers | {"X-Reloadly-Signature": "0" * 64}),
        lambda body, headers: (body, {"Content-Type": "application/json"}),
    ],
    ids=["body-changed", "wrong-signature", "unsigned"],
)
async def test_a_callback_not_signed_with_our_secret_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    reloadly_server: RunningReloadly,
    tamper: object,
) -> None:
    order_id = await authorize_and_send(runtime, PENDING_FOREVER)
    before = await order_row(runtime, order_id)
    body, headers = tamper(*reloadly_server.reloadly.webhook(order_id))  # type: ignore[operator]

    refused = await post_callback(client, body, headers)

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "callback_refused"
    assert (await order_row(runtime, order_id)).due_at == before.due_at
    await assert_waiting_with_hold(runtime, order_id)


async def test_a_calling_card_without_its_own_reloadly_operator_is_never_sent_as_airtime(
    runtime: Runtime, reloadly_server: RunningReloadly
) -> None:
    # The operator map names "ng-mtn" (airtime) and "ng-mtn:voucher", no calling card: the
    # card must fail unmapped before any money is taken, not credit airtime with no PIN.
    order_id = await new_order(runtime, SUCCEEDS, product_id="ng-mtn-calling-card-10000")
    for _ in range(3):
        await advance(runtime.order_deps(), order_id)

    order = await order_row(runtime, order_id)
    assert (order.status, order.failure_code) == ("failed", "operator_not_mapped")
    assert order.payment_status == "voided"
    assert await payment_status(runtime, order_id) == "voided"
    assert reloadly_server.reloadly.sends == 0
    assert reloadly_server.reloadly.topups(order_id) == 0
    await assert_ledger_clean(runtime)
