"""The emails a refund request causes, read where a sandbox user reads them: one when it
is paid (to the wallet or the card), one when support rejects it, each once."""

from __future__ import annotations

import httpx

from tests.fixtures.customers import logged_in_customer
from tests.notifications.test_orders import (
    bought,
    buyer,
    messages_to,
    one_line,
    unique_number,
)
from tests.orders.conftest import Headers
from topup.accounts.models import Role
from topup.kit.ids import new_id
from topup.refunds.tasks import run_due
from topup.runtime import Runtime


async def ask_for_refund(
    client: httpx.AsyncClient, headers: Headers, order_id: str, destination: str
) -> str:
    body = {"order_id": order_id, "reason": "not_delivered", "destination": destination}
    response = await client.post(
        "/v1/refund-requests", json=body, headers=headers | {"Idempotency-Key": new_id("key")}
    )
    assert response.status_code == 201, response.text
    request_id: str = response.json()["id"]
    return request_id


async def test_a_refund_paid_to_the_card_is_announced_once_in_the_buyers_language(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime, language="fr", country="FR")
    staff = await logged_in_customer(runtime, role=Role.support.value)
    order = await bought(client, runtime, headers, unique_number("+23480312"), "ng-mtn-2500")
    request_id = await ask_for_refund(client, headers, order["id"], "original_method")

    approved = await client.post(
        f"/v1/admin/refund-requests/{request_id}/approve", headers=staff.headers
    )
    assert approved.status_code == 200, approved.text
    await run_due(runtime.refund_deps())  # paid already by the fast path: nothing more

    receipt, refund = sorted(await messages_to(client, email), key=lambda m: m["kind"])
    assert (receipt["kind"], refund["kind"]) == ("order_succeeded", "refund_paid")
    assert one_line(refund["subject"]) == "Votre remboursement de 1,99 € est en route"
    assert "reversé 1,99 € sur votre carte (•••• 4242)" in one_line(refund["body"])
    assert order["id"] in refund["body"]
    assert "frais" not in refund["body"]  # a top-up's refund has no fee


async def test_a_refund_paid_to_the_wallet_says_where_the_money_is(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime)
    staff = await logged_in_customer(runtime, role=Role.admin.value)
    order = await bought(client, runtime, headers, unique_number("+23480312"), "ng-mtn-2500")
    request_id = await ask_for_refund(client, headers, order["id"], "wallet")

    await client.post(f"/v1/admin/refund-requests/{request_id}/approve", headers=staff.headers)

    [refund] = [m for m in await messages_to(client, email) if m["kind"] == "refund_paid"]
    assert "We have added €1.99 to your Topup wallet" in one_line(refund["body"])


async def test_a_rejected_refund_gives_the_reason_support_wrote(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime)
    staff = await logged_in_customer(runtime, role=Role.support.value)
    order = await bought(client, runtime, headers, unique_number("+23480312"), "ng-mtn-2500")
    request_id = await ask_for_refund(client, headers, order["id"], "wallet")

    rejected = await client.post(
        f"/v1/admin/refund-requests/{request_id}/reject",
        json={"reason": "MTN confirms the credit reached the phone."},
        headers=staff.headers,
    )
    assert rejected.status_code == 200, rejected.text

    [refusal] = [m for m in await messages_to(client, email) if m["kind"] == "refund_rejected"]
    assert refusal["subject"] == f"We cannot refund order {order['id']}"
    assert "Reason: MTN confirms the credit reached the phone." in refusal["body"]
