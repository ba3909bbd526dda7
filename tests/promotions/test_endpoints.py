"""The admin API of promo codes and the customer's preview: terms, refusals, dates moved
with the clock, restrictions. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.promotions.conftest import (
    PRODUCT,
    PRODUCT_PRICE,
    SUCCEEDS,
    MakePerson,
    Person,
    code_terms,
    finished,
    issue,
    order_with,
    preview,
    refusal,
)
from topup.kit import clock
from topup.runtime import Runtime

ADMIN_PATH = "/v1/admin/promo-codes"
PLAN = "ng-mtn-plan-25000"


async def refused_preview(
    client: httpx.AsyncClient, who: Person, code: str, **extra: Any
) -> tuple[int, str, str | None]:
    return refusal(await preview(client, who, code, **extra))


# ---- the preview --------------------------------------------------------------------------


async def test_a_preview_shows_the_discount_and_the_price_to_pay(
    client: httpx.AsyncClient, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, percent_off="25")

    answer = await preview(client, await person(), issued["code"], recipient_phone=SUCCEEDS)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "code": issued["code"].upper(),
        "list_price": {"amount": PRODUCT_PRICE, "currency": "EUR"},
        "discount": {"amount": 199, "currency": "EUR"},  # 198.5 cents, half up
        "price": {"amount": PRODUCT_PRICE - 199, "currency": "EUR"},
    }


async def test_a_preview_prices_a_range_product_by_the_amount_asked(
    client: httpx.AsyncClient, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, kind="fixed", percent_off=None, amount_off=100)
    amount = {"amount": 1_000_000, "currency": "NGN"}  # 10,000 naira: 7.94 EUR as fixed

    answer = await preview(client, await person(), issued["code"], "ng-mtn-range", amount=amount)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["discount"]["amount"] == 100
    assert body["price"]["amount"] == body["list_price"]["amount"] - 100


async def test_each_refusal_has_its_code_and_names_the_promo_code(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    buyer, owner = await person(), await person()
    used_up = await issue(client, admin, max_redemptions=1)
    placed = await order_with(client, owner, used_up["code"])
    assert placed.status_code == 201, placed.text
    once = await issue(client, admin)
    mine = await order_with(client, buyer, once["code"])
    assert mine.status_code == 201, mine.text
    await finished(client, runtime, buyer, mine.json()["id"])
    now = clock.now()
    cases = {
        "promo_code_not_found": "NOPE-" + used_up["code"],
        "promo_code_exhausted": used_up["code"],
        "promo_code_limit_reached": once["code"],
        "promo_code_not_applicable": (await issue(client, admin, product_ids=["ng-mtn-2500"]))[
            "code"
        ],
        "promo_code_expired": (
            await issue(
                client,
                admin,
                valid_from=(now - timedelta(days=2)).isoformat(),
                valid_until=(now - timedelta(days=1)).isoformat(),
            )
        )["code"],
        "promo_code_not_yet_valid": (
            await issue(client, admin, valid_from=(now + timedelta(days=1)).isoformat())
        )["code"],
    }

    answers = {
        expected: await refused_preview(client, buyer, code) for expected, code in cases.items()
    }

    assert answers == {expected: (422, expected, "promo_code") for expected in cases}


async def test_another_accounts_code_answers_as_an_unknown_one(
    client: httpx.AsyncClient, admin: Person, person: MakePerson
) -> None:
    owner, stranger = await person(), await person()
    issued = await issue(client, admin, customer_id=owner.id)

    theirs = await preview(client, stranger, issued["code"])
    unknown = await preview(client, stranger, "NOPE-" + issued["code"])
    own = await preview(client, owner, issued["code"])

    # The same answer, word for word: nothing tells the stranger that the code exists.
    assert theirs.status_code == unknown.status_code == 422
    assert theirs.json() == unknown.json()
    assert refusal(theirs) == (422, "promo_code_not_found", "promo_code")
    assert own.status_code == 200, own.text


async def test_a_plan_is_never_discounted(
    client: httpx.AsyncClient, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin)  # no restriction at all
    buyer = await person()

    on_a_top_up = await preview(client, buyer, issued["code"])
    on_a_plan = await refused_preview(client, buyer, issued["code"], product_id=PLAN)

    assert on_a_top_up.status_code == 200, on_a_top_up.text
    assert on_a_plan == (422, "promo_code_not_applicable", "promo_code")


async def test_a_code_is_valid_between_its_dates_as_the_clock_moves(
    client: httpx.AsyncClient, admin: Person, person: MakePerson
) -> None:
    now = clock.now()
    issued = await issue(
        client,
        admin,
        valid_from=(now + timedelta(hours=1)).isoformat(),
        valid_until=(now + timedelta(hours=3)).isoformat(),
    )
    buyer = await person()

    # The clock runs on while the test does (each move is added to real time), so each
    # look is a minute clear of a boundary.
    before = await refused_preview(client, buyer, issued["code"])
    clock.advance(3600 + 60)
    just_after_the_start = await preview(client, buyer, issued["code"])
    clock.advance(2 * 3600 - 120)
    just_before_the_end = await preview(client, buyer, issued["code"])
    clock.advance(120)
    just_after_the_end = await refused_preview(client, buyer, issued["code"])

    assert before == (422, "promo_code_not_yet_valid", "promo_code")
    assert just_after_the_start.status_code == 200, just_after_the_start.text
    assert just_before_the_end.status_code == 200, just_before_the_end.text
    assert just_after_the_end == (422, "promo_code_expired", "promo_code")


@pytest.mark.parametrize(
    ("restriction", "applies_to", "not_to"),
    [
        ({"product_ids": [PRODUCT]}, PRODUCT, "ng-mtn-2500"),
        ({"operator_ids": ["ng-mtn"]}, PRODUCT, "ng-airtel-10000"),
        ({"country_iso2s": ["NG"]}, PRODUCT, "gh-mtn-100"),
        ({"product_types": ["voucher"]}, "ng-mtn-voucher-20000", PRODUCT),
        ({"min_price": PRODUCT_PRICE}, PRODUCT, "ng-mtn-2500"),
    ],
)
async def test_a_restricted_code_applies_only_where_it_is_allowed(
    client: httpx.AsyncClient,
    admin: Person,
    person: MakePerson,
    restriction: dict[str, Any],
    applies_to: str,
    not_to: str,
) -> None:
    issued = await issue(client, admin, **restriction)
    buyer = await person()

    allowed = await preview(client, buyer, issued["code"], applies_to)
    refused = await refused_preview(client, buyer, issued["code"], product_id=not_to)

    assert allowed.status_code == 200, allowed.text
    assert refused == (422, "promo_code_not_applicable", "promo_code")


async def test_a_preview_checks_the_product_against_the_number(
    client: httpx.AsyncClient, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin)

    answer = await preview(
        client, await person(), issued["code"], "gh-mtn-100", recipient_phone=SUCCEEDS
    )

    assert refusal(answer) == (422, "product_not_for_operator", "product_id")


async def test_a_preview_needs_an_account(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/promo-codes/preview", json={"code": "X", "product_id": PRODUCT})

    assert answer.status_code == 401


# ---- the admin API ------------------------------------------------------------------------


async def test_an_admin_issues_lists_reads_and_changes_a_code(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(
        client,
        admin,
        code="spring-" + code_terms()["code"],
        max_redemptions=5,
        per_customer_limit=2,
    )
    buyer = await person()
    placed = await order_with(client, buyer, issued["code"])
    assert placed.status_code == 201, placed.text
    await finished(client, runtime, buyer, placed.json()["id"])

    listed = await client.get(ADMIN_PATH, params={"limit": 200}, headers=admin.headers)
    read = await client.get(f"{ADMIN_PATH}/{issued['id']}", headers=admin.headers)
    switched_off = await client.patch(
        f"{ADMIN_PATH}/{issued['id']}", json={"enabled": False}, headers=admin.headers
    )
    while_off = await refused_preview(client, buyer, issued["code"])
    switched_on = await client.patch(
        f"{ADMIN_PATH}/{issued['id']}",
        json={"enabled": True, "max_redemptions": None, "per_customer_limit": 3},
        headers=admin.headers,
    )

    assert issued["code"] == issued["code"].upper()
    assert (issued["kind"], issued["percent_off"], issued["redeemed"]) == ("percent", "10", 0)
    assert issued["id"] in [code["id"] for code in listed.json()["data"]]
    assert read.status_code == 200, read.text
    assert read.json()["redeemed"] == 1
    assert read.json()["redemptions"] == {"reserved": 0, "used": 1, "released": 0}
    assert switched_off.json()["enabled"] is False
    assert while_off == (422, "promo_code_not_found", "promo_code")
    assert switched_on.status_code == 200, switched_on.text
    changed = switched_on.json()
    assert (changed["enabled"], changed["max_redemptions"], changed["per_customer_limit"]) == (
        True,
        None,
        3,
    )
    assert (await preview(client, buyer, issued["code"])).status_code == 200


async def test_the_list_comes_in_pages(client: httpx.AsyncClient, admin: Person) -> None:
    for _ in range(3):
        await issue(client, admin)

    first = await client.get(ADMIN_PATH, params={"limit": 2}, headers=admin.headers)
    second = await client.get(
        ADMIN_PATH,
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=admin.headers,
    )

    assert len(first.json()["data"]) == 2
    assert first.json()["next_cursor"] is not None
    ids = [code["id"] for code in first.json()["data"] + second.json()["data"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("terms", "status", "code", "field"),
    [
        ({"percent_off": None}, 422, "invalid_field", "percent_off"),
        ({"amount_off": 100}, 422, "invalid_field", "percent_off"),
        ({"kind": "fixed"}, 422, "invalid_field", "amount_off"),
        ({"percent_off": "100.5"}, 422, None, None),
        ({"percent_off": "0"}, 422, None, None),
        ({"product_ids": ["no-such-product"]}, 422, "invalid_field", "product_ids"),
        ({"operator_ids": ["no-such-operator"]}, 422, "invalid_field", "operator_ids"),
        ({"country_iso2s": ["XX"]}, 422, "invalid_field", "country_iso2s"),
        ({"customer_id": "cus_" + "0" * 32}, 422, "customer_not_found", "customer_id"),
        ({"valid_until": "2020-01-01T00:00:00+00:00"}, 422, "invalid_field", "valid_until"),
        ({"valid_from": "2026-01-01T00:00:00"}, 422, None, None),  # no time zone
        ({"code": "a b"}, 422, None, None),
        # A plan takes no code (it is bought through /v1/subscriptions).
        ({"product_types": ["plan"]}, 422, "invalid_field", "product_types"),
        ({"product_types": ["voucher", "plan"]}, 422, "invalid_field", "product_types"),
        ({"product_ids": [PLAN]}, 422, "invalid_field", "product_ids"),
        ({"product_ids": [PRODUCT, PLAN]}, 422, "invalid_field", "product_ids"),
    ],
)
async def test_terms_that_make_no_sense_are_refused(
    client: httpx.AsyncClient,
    admin: Person,
    terms: dict[str, Any],
    status: int,
    code: str | None,
    field: str | None,
) -> None:
    answer = await client.post(ADMIN_PATH, json=code_terms(**terms), headers=admin.headers)

    assert answer.status_code == status, answer.text
    if code is not None:
        assert refusal(answer) == (status, code, field)


async def test_a_code_is_unique_in_any_case(client: httpx.AsyncClient, admin: Person) -> None:
    issued = await issue(client, admin)

    again = await client.post(
        ADMIN_PATH, json=code_terms(code=issued["code"].lower()), headers=admin.headers
    )

    assert refusal(again) == (409, "promo_code_taken", "code")


async def test_the_total_cannot_go_below_the_uses_taken(
    client: httpx.AsyncClient, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, max_redemptions=5)
    for _ in range(2):
        placed = await order_with(client, await person(), issued["code"])
        assert placed.status_code == 201, placed.text
    path = f"{ADMIN_PATH}/{issued['id']}"

    lowered = await client.patch(path, json={"max_redemptions": 1}, headers=admin.headers)
    nulled = await client.patch(path, json={"enabled": None}, headers=admin.headers)
    backwards = await client.patch(
        path, json={"valid_until": "2020-01-01T00:00:00+00:00"}, headers=admin.headers
    )
    to_two = await client.patch(path, json={"max_redemptions": 2}, headers=admin.headers)

    assert refusal(lowered) == (422, "invalid_field", "max_redemptions")
    assert refusal(nulled) == (422, "invalid_field", "enabled")
    assert refusal(backwards) == (422, "invalid_field", "valid_until")
    assert to_two.status_code == 200, to_two.text
    counts = to_two.json()["redemptions"]
    assert (counts["reserved"] + counts["used"], counts["released"]) == (2, 0)


async def test_an_unknown_code_id_is_404(client: httpx.AsyncClient, admin: Person) -> None:
    answer = await client.get(f"{ADMIN_PATH}/promo_{'0' * 32}", headers=admin.headers)

    assert refusal(answer) == (404, "promo_code_not_found", "code_id")
