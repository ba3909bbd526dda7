"""Support deciding refund requests and the money reaching the customer: to the wallet or
back to the card, with the ledger in balance; who may see and change refund policies; the
answer dates support is held to. On SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.orders.conftest import card
from tests.refunds.conftest import (
    Headers,
    MakePerson,
    Person,
    ask,
    asked,
    assert_ledger_clean,
    delivered_order,
    parse_time,
    preview,
    refund_body,
    refused_by,
    set_order,
    sign_in,
    stored_order,
    stored_requests,
)
from topup.kit import clock
from topup.kit.ids import new_id
from topup.ledger.models import JournalEntry, Transfer
from topup.providers.payments.sandbox_models import SandboxRefund
from topup.refunds.policy import presets
from topup.refunds.tasks import run_due
from topup.runtime import Runtime

STAFF = "/v1/admin/refund-requests"
POLICIES = "/v1/admin/refund-policies"


def price(order: dict[str, Any]) -> int:
    amount: int = order["price"]["amount"]
    return amount


async def wallet_balance(client: httpx.AsyncClient, headers: Headers) -> int:
    response = await client.get("/v1/wallet", headers=headers)
    assert response.status_code == 200, response.text
    balance: int = response.json()["balance"]["amount"]
    return balance


async def approve(
    client: httpx.AsyncClient, staff: Person, request_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{STAFF}/{request_id}/approve", json=body or None, headers=staff.headers
    )


async def reject(
    client: httpx.AsyncClient, staff: Person, request_id: str, reason: str = "Delivered."
) -> httpx.Response:
    return await client.post(
        f"{STAFF}/{request_id}/reject", json={"reason": reason}, headers=staff.headers
    )


async def customer_view(
    client: httpx.AsyncClient, customer: Person, request_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/refund-requests/{request_id}", headers=customer.headers)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def staff_rows(
    client: httpx.AsyncClient, headers: Headers, **query: str
) -> dict[str, dict[str, Any]]:
    """Every request the staff list shows for ``query``, through all its pages, by id."""
    rows: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params = query | {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        response = await client.get(STAFF, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        rows |= {row["id"]: row for row in page["data"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


async def paid_entry(runtime: Runtime, request_id: str) -> list[tuple[str, str, int]]:
    """The ledger transfers the request's payment made: (debit, credit, amount)."""
    async with runtime.session_factory() as session:
        entries = (
            await session.scalars(
                select(JournalEntry).where(JournalEntry.idempotency_key == f"{request_id}:paid")
            )
        ).all()
        assert len(entries) == 1
        assert entries[0].kind == "refund"
        transfers = (
            await session.scalars(select(Transfer).where(Transfer.entry_id == entries[0].id))
        ).all()
    return sorted((row.debit_account_id, row.credit_account_id, row.amount) for row in transfers)


async def gateway_refunds(runtime: Runtime, request_id: str) -> list[int]:
    async with runtime.session_factory() as session:
        rows = (
            await session.scalars(
                select(SandboxRefund).where(SandboxRefund.idempotency_key.startswith(request_id))
            )
        ).all()
    return [row.amount for row in rows]


# ---- paying -----------------------------------------------------------------------------------


async def test_an_approved_refund_to_the_wallet_is_paid_there_and_shown_on_the_statement(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    created = await asked(client, customer.headers, refund_body(order["id"]))
    before = await wallet_balance(client, customer.headers)

    response = await approve(client, support, created["id"], note="Operator confirmed.")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "approved"
    view = await customer_view(client, customer, created["id"])
    assert view["status"] == "paid"
    assert view["decision_reason"] == "Operator confirmed."
    assert view["paid_at"] is not None
    # Paid by: five business days after the approval.
    pay_by = parse_time(view["pay_by"])
    assert runtime.business_calendar().is_business_day(pay_by.date())
    assert 5 <= (pay_by.date() - clock.now().date()).days <= 12
    assert await wallet_balance(client, customer.headers) == before + price(order)
    lines = (await client.get("/v1/wallet/transactions", headers=customer.headers)).json()
    assert [
        (line["kind"], line["order_id"], line["amount"]["amount"]) for line in lines["data"]
    ] == [("refund", order["id"], price(order))]
    assert await paid_entry(runtime, created["id"]) == [
        ("refunds:EUR", f"wallet:{customer.id}:EUR", price(order))
    ]
    assert await gateway_refunds(runtime, created["id"]) == []
    await assert_ledger_clean(runtime)


async def test_an_approved_refund_to_the_card_goes_back_through_the_gateway(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    created = await asked(
        client, customer.headers, refund_body(order["id"], destination="original_method")
    )

    assert (await approve(client, support, created["id"])).status_code == 200

    assert (await customer_view(client, customer, created["id"]))["status"] == "paid"
    assert await gateway_refunds(runtime, created["id"]) == [price(order)]
    assert await paid_entry(runtime, created["id"]) == [
        ("refunds:EUR", "card_clearing:sandbox:EUR", price(order))
    ]
    assert await wallet_balance(client, customer.headers) == 0
    await assert_ledger_clean(runtime)


async def test_a_fee_is_kept_in_refund_fees_and_only_the_net_reaches_the_card(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support, admin = await person(), await person("support"), await person("admin")
    product_type = await custom_policy(client, admin, fee_percent="12")
    order = await delivered_order(client, runtime, customer.headers)
    await set_order(runtime, order["id"], product_type=product_type)
    created = await asked(
        client, customer.headers, refund_body(order["id"], destination="original_method")
    )
    fee = (price(order) * 12 + 50) // 100  # half up
    assert (created["amount"]["amount"], created["fee"]["amount"]) == (price(order), fee)

    assert (await approve(client, support, created["id"])).status_code == 200

    net = price(order) - fee
    assert await gateway_refunds(runtime, created["id"]) == [net]
    assert await paid_entry(runtime, created["id"]) == sorted(
        [
            ("refunds:EUR", "card_clearing:sandbox:EUR", net),
            ("refunds:EUR", "refund_fees:EUR", fee),
        ]
    )
    await assert_ledger_clean(runtime)


async def test_an_order_paid_from_the_wallet_is_refunded_to_the_wallet(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support = await person(), await person("support")
    funded = await client.post(
        "/v1/wallet/fund",
        json={"amount": {"amount": 10_000, "currency": "EUR"}, "payment": card()},
        headers=customer.headers | {"Idempotency-Key": new_id("key")},
    )
    assert funded.status_code == 201, funded.text
    order = await delivered_order(client, runtime, customer.headers, payment={"wallet": True})
    assert await wallet_balance(client, customer.headers) == 10_000 - price(order)
    created = await asked(
        client, customer.headers, refund_body(order["id"], destination="original_method")
    )

    assert (await approve(client, support, created["id"])).status_code == 200

    assert (await customer_view(client, customer, created["id"]))["status"] == "paid"
    assert await wallet_balance(client, customer.headers) == 10_000
    assert await gateway_refunds(runtime, created["id"]) == []
    assert await paid_entry(runtime, created["id"]) == [
        ("refunds:EUR", f"wallet:{customer.id}:EUR", price(order))
    ]
    await assert_ledger_clean(runtime)


# ---- deciding ---------------------------------------------------------------------------------


async def test_a_rejection_gives_the_reason_and_frees_the_money_for_a_new_request(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    first = await asked(client, customer.headers, refund_body(order["id"]))

    response = await reject(client, support, first["id"], "The operator shows it delivered.")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected"
    view = await customer_view(client, customer, first["id"])
    assert (view["status"], view["decision_reason"]) == (
        "rejected",
        "The operator shows it delivered.",
    )
    assert (await stored_order(runtime, order["id"])).refunded_amount == 0
    again = await asked(client, customer.headers, refund_body(order["id"]))
    assert again["amount"]["amount"] == price(order)
    assert (await stored_order(runtime, order["id"])).refunded_amount == price(order)
    assert await wallet_balance(client, customer.headers) == 0  # nothing was paid


async def test_staff_cannot_decide_their_own_refund_request(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    """Staff accounts buy top-ups too; a refund to oneself needs a colleague's decision."""
    support, colleague = await person("support"), await person("admin")
    order = await delivered_order(client, runtime, support.headers)
    mine = await asked(client, support.headers, refund_body(order["id"]))

    approved = await approve(client, support, mine["id"])
    rejected = await reject(client, support, mine["id"])

    for response in (approved, rejected):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "own_refund_request"
    assert (await customer_view(client, support, mine["id"]))["status"] == "requested"
    assert (await approve(client, colleague, mine["id"])).status_code == 200


async def test_a_rejection_needs_a_reason(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    created = await asked(client, customer.headers, refund_body(order["id"]))

    response = await client.post(
        f"{STAFF}/{created['id']}/reject", json={}, headers=support.headers
    )

    assert response.status_code == 422
    assert (await customer_view(client, customer, created["id"]))["status"] == "requested"


@pytest.mark.parametrize(
    ("first", "second"),
    [("approve", "approve"), ("approve", "reject"), ("reject", "approve"), ("reject", "reject")],
)
async def test_a_request_is_decided_once(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson, first: str, second: str
) -> None:
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    created = await asked(client, customer.headers, refund_body(order["id"]))

    async def decide(decision: str) -> httpx.Response:
        if decision == "approve":
            return await approve(client, support, created["id"])
        return await reject(client, support, created["id"])

    assert (await decide(first)).status_code == 200
    late = await decide(second)

    assert late.status_code == 409
    assert late.json()["error"]["code"] == "refund_already_decided"
    status = "paid" if first == "approve" else "rejected"
    assert (await customer_view(client, customer, created["id"]))["status"] == status
    claimed = price(order) if first == "approve" else 0
    assert (await stored_order(runtime, order["id"])).refunded_amount == claimed
    await assert_ledger_clean(runtime)


async def test_an_unknown_request_is_not_found(
    client: httpx.AsyncClient, person: MakePerson
) -> None:
    support = await person("support")
    response = await approve(client, support, "rfd_" + "0" * 32)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "refund_request_not_found"


async def test_customers_cannot_reach_the_staff_side(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    created = await asked(client, customer.headers, refund_body(order["id"]))
    document = presets()["topup"].model_dump(mode="json")

    answers = [
        await client.get(STAFF, headers=customer.headers),
        await client.post(f"{STAFF}/{created['id']}/approve", headers=customer.headers),
        await client.post(
            f"{STAFF}/{created['id']}/reject", json={"reason": "x"}, headers=customer.headers
        ),
        await client.get(POLICIES, headers=customer.headers),
        await client.put(f"{POLICIES}/topup", json=document, headers=customer.headers),
    ]

    assert [answer.status_code for answer in answers] == [403] * 5
    assert (await client.get(STAFF)).status_code == 401
    assert (await customer_view(client, customer, created["id"]))["status"] == "requested"


async def test_the_staff_list_shows_the_customer_and_filters_by_status(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    kept = await asked(
        client, customer.headers, refund_body(order["id"], amount=50, details="Nothing came.")
    )
    dropped = await asked(client, customer.headers, refund_body(order["id"], amount=60))
    assert (await reject(client, support, dropped["id"])).status_code == 200

    requested = await staff_rows(client, support.headers, status="requested")
    rejected = await staff_rows(client, support.headers, status="rejected")

    assert kept["id"] in requested
    assert kept["id"] not in rejected
    assert dropped["id"] in rejected
    assert dropped["id"] not in requested
    row = requested[kept["id"]]
    assert (row["customer_id"], row["details"], row["overdue"]) == (
        customer.id,
        "Nothing came.",
        False,
    )


async def test_a_request_unanswered_past_its_answer_date_is_overdue(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, support = await person(), await person("support")
    order = await delivered_order(client, runtime, customer.headers)
    created = await asked(client, customer.headers, refund_body(order["id"]))
    answer_by = parse_time(created["answer_by"])
    assert created["id"] not in await staff_rows(client, support.headers, overdue="true")

    clock.advance((answer_by - clock.now()).total_seconds() - 60)
    support_headers = await sign_in(runtime, support.id)
    on_time = await staff_rows(client, support_headers, status="requested")
    assert on_time[created["id"]]["overdue"] is False
    assert created["id"] not in await staff_rows(client, support_headers, overdue="true")

    clock.advance(120)
    overdue = await staff_rows(client, support_headers, overdue="true")
    assert overdue[created["id"]]["overdue"] is True
    assert all(row["status"] == "requested" for row in overdue.values())

    # Answered late, it leaves the overdue list.
    decided = await client.post(f"{STAFF}/{created['id']}/approve", headers=support_headers)
    assert decided.status_code == 200, decided.text
    assert decided.json()["overdue"] is False
    assert created["id"] not in await staff_rows(client, support_headers, overdue="true")


# ---- policies ---------------------------------------------------------------------------------


async def custom_policy(client: httpx.AsyncClient, admin: Person, **changes: Any) -> str:
    """A policy for a product type of this test's own (the shared database keeps the
    presets untouched); its name."""
    product_type = f"t{secrets.token_hex(6)}"
    document = presets()["topup"].model_dump(mode="json") | changes
    response = await client.put(f"{POLICIES}/{product_type}", json=document, headers=admin.headers)
    assert response.status_code == 200, response.text
    return product_type


async def test_staff_see_every_product_types_policy(
    client: httpx.AsyncClient, person: MakePerson
) -> None:
    for role in ("support", "admin"):
        staff = await person(role)
        response = await client.get(POLICIES, headers=staff.headers)
        assert response.status_code == 200, response.text
        shown = {row["product_type"]: row for row in response.json()["data"]}
        assert {"topup", "calling_card", "plan"} <= set(shown)
        assert shown["calling_card"]["policy"]["fee_percent"] == "12"
        assert shown["topup"]["policy"]["window"] == {"length": 1, "unit": "months"}


async def test_only_an_admin_changes_a_policy(
    client: httpx.AsyncClient, person: MakePerson
) -> None:
    support, admin = await person("support"), await person("admin")
    product_type = f"t{secrets.token_hex(6)}"
    document = presets()["topup"].model_dump(mode="json")

    refused = await client.put(f"{POLICIES}/{product_type}", json=document, headers=support.headers)
    accepted = await client.put(f"{POLICIES}/{product_type}", json=document, headers=admin.headers)

    assert refused.status_code == 403
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["version"], accepted.json()["updated_by"]) == (1, admin.id)


@pytest.mark.parametrize(
    "changes",
    [
        {"fee_percent": "100"},
        {"destinations": ["wallet", "cash"]},
        {"destinations": ["wallet", "wallet"]},
        {"min_remaining_percent": 150},
        {"surprise": 1},
    ],
    ids=["fee_100", "unknown_destination", "repeated_destination", "percent", "extra_field"],
)
async def test_an_invalid_policy_is_refused_and_the_old_one_stays(
    client: httpx.AsyncClient, person: MakePerson, changes: dict[str, Any]
) -> None:
    admin = await person("admin")
    product_type = await custom_policy(client, admin)
    document = presets()["topup"].model_dump(mode="json") | changes

    response = await client.put(f"{POLICIES}/{product_type}", json=document, headers=admin.headers)

    assert response.status_code == 422
    listed = (await client.get(POLICIES, headers=admin.headers)).json()["data"]
    [row] = [row for row in listed if row["product_type"] == product_type]
    assert row["version"] == 1
    assert row["policy"] == presets()["topup"].model_dump(mode="json")


async def test_a_policy_change_applies_to_later_requests_but_not_to_those_already_made(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer, admin = await person(), await person("admin")
    product_type = await custom_policy(client, admin, fee_percent="10")
    order = await delivered_order(client, runtime, customer.headers)
    await set_order(runtime, order["id"], product_type=product_type)
    earlier = await asked(client, customer.headers, refund_body(order["id"], amount=100))
    assert (earlier["fee"]["amount"], earlier["net"]["amount"]) == (10, 90)

    changed = presets()["topup"].model_dump(mode="json") | {
        "fee_percent": "20",
        "destinations": ["wallet"],
    }
    response = await client.put(f"{POLICIES}/{product_type}", json=changed, headers=admin.headers)

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    later = await preview(client, customer.headers, refund_body(order["id"], amount=50))
    assert (later["fee"]["amount"], later["net"]["amount"]) == (10, 40)
    to_card = await ask(
        client, customer.headers, refund_body(order["id"], destination="original_method")
    )
    assert refused_by(to_card) == (
        422,
        "refund_not_allowed",
        "destination_not_allowed",
        "destination",
    )
    # The request made before keeps its figures and the version they came from.
    assert (await customer_view(client, customer, earlier["id"]))["fee"]["amount"] == 10
    [stored] = await stored_requests(runtime, order["id"])
    assert (stored.policy_version, stored.fee, stored.net) == (1, 10, 90)


async def test_the_worker_leaves_requests_waiting_for_support_alone(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    created = await asked(client, customer.headers, refund_body(order["id"]))

    await run_due(runtime.refund_deps())
    clock.advance(3600)
    await run_due(runtime.refund_deps())

    view = await customer_view(client, customer, created["id"])
    assert (view["status"], view["approval"]) == ("requested", "manual")
