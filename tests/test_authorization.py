"""Who may call each endpoint of the API: every route × anonymous, the owner of a resource,
another customer, support and admin, each a real request on a real resource.

The table below names every (method, path) the app answers outside the storefront. A route
the table does not name fails the first test, so no endpoint ships without its row. Every
cell follows from the row's audience:

- ``PUBLIC``: everyone gets ``ok`` (no login asked, none used).
- ``SIGNED_IN``: 401 anonymous; every account gets ``ok`` for its own data; a list the owner
  sees with their resource in it never shows it to anyone else.
- ``OWNER``: 401 anonymous; ``ok`` for the owner; 404 for every other account, staff
  included (API.md: "another customer's order gets 404"): the answer for someone else's
  resource is the answer for one that does not exist, so existence is not revealed.
- ``STAFF``: 401 anonymous; 403 for customers; ``ok`` for support and admin.
- ``ADMIN``: 401 anonymous; 403 for customers and support; ``ok`` for admin.

The storefront's pages have their own matrix in ``tests/storefront/test_authorization.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import pytest

from tests.accounts.helpers import PASSWORD
from tests.fixtures.authorization import (
    ADMIN,
    ANONYMOUS,
    CALLERS,
    CARD,
    OPERATOR_PROMOTION,
    OTHER,
    OWNER,
    SIGNUP,
    SUCCEEDS,
    SUPPORT,
    Caller,
    World,
    routes_of,
)
from tests.fixtures.risky import Risky
from topup.app import create_app
from topup.config import Environment, Settings
from topup.kit.ids import new_id
from topup.refunds.policy import presets


class Audience(Enum):
    PUBLIC = "public"
    SIGNED_IN = "signed in"
    OWNER = "owner"
    STAFF = "staff"
    ADMIN = "admin"


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # the path as the app declares it
    audience: Audience
    ok: int  # the status of an allowed caller
    target: str | None = None  # the path asked for, with {resources}; else ``route``
    body: Any = None
    lists: str | None = None  # the owner's resource a list shows them and nobody else
    # What other accounts get, where the row's audience says otherwise: the owner's card
    # named in a body is, to anyone else, a card that does not exist (422 card_not_found).
    denied: int | None = None

    def expected(self, caller: str) -> int:
        if self.audience is Audience.PUBLIC:
            return self.ok
        if caller == ANONYMOUS:
            return 401
        allowed = {
            Audience.SIGNED_IN: set(CALLERS),
            Audience.OWNER: {OWNER},
            Audience.STAFF: {SUPPORT, ADMIN},
            Audience.ADMIN: {ADMIN},
        }[self.audience]
        if caller in allowed:
            return self.ok
        if self.denied is not None:
            return self.denied
        return 404 if self.audience is Audience.OWNER else 403


PUBLIC, ACCOUNT, OWNED = Audience.PUBLIC, Audience.SIGNED_IN, Audience.OWNER
STAFF, ADMINS = Audience.STAFF, Audience.ADMIN
FUNDING = {"amount": {"amount": 1000, "currency": "EUR"}, "payment": {"card": CARD}}
ORDER_BODY = {"recipient_phone": SUCCEEDS, "product_id": "ng-mtn-2500", "payment": {"card": CARD}}
SCHEDULE_BODY = {
    "recipient_phone": SUCCEEDS,
    "product_id": "ng-mtn-2500",
    "card_id": "{card}",
    "every": "monthly",
    "day_of_month": 31,
}
SUBSCRIPTION_BODY = {"plan_id": "ng-mtn-plan-25000", "recipient_phone": SUCCEEDS, "card": CARD}
REFUND_BODY = {"order_id": "{order}", "reason": "not_delivered", "destination": "wallet"}
LIMIT_RULE = {"scope": "card", "window_seconds": 3600, "max_count": 1, "description": "d"}
SIGNAL = {"weight": 1, "params": {"declines": 3, "window_seconds": 3600}}
THRESHOLDS = {"review_score": 50, "reject_score": 100}
TOPUP_POLICY = presets()["topup"].model_dump(mode="json")
PROMO_TERMS = {
    "code": "{fresh_promo_name}",
    "kind": "fixed",
    "amount_off": 100,
    "valid_from": "2026-01-01T00:00:00+00:00",
    "valid_until": "2100-01-01T00:00:00+00:00",
}
PROMO_PREVIEW = {"code": "{promo_code}", "product_id": "ng-mtn-2500"}

# fmt: off
TABLE = [
    # operations and documentation
    Row("GET", "/healthz", PUBLIC, 200),
    Row("GET", "/readyz", PUBLIC, 200),
    Row("GET", "/metrics", PUBLIC, 200),
    Row("GET", "/openapi.json", PUBLIC, 200),
    Row("GET", "/docs", PUBLIC, 200),
    Row("GET", "/docs/oauth2-redirect", PUBLIC, 200),
    Row("GET", "/redoc", PUBLIC, 200),
    # catalogue and lookup
    Row("GET", "/v1/countries", PUBLIC, 200),
    Row("GET", "/v1/countries/{iso2}/operators", PUBLIC, 200, "/v1/countries/NG/operators"),
    Row("GET", "/v1/operators/{operator_id}/products", PUBLIC, 200,
        "/v1/operators/ng-mtn/products"),
    Row("GET", "/v1/lookup", PUBLIC, 200, f"/v1/lookup?phone=%2B{SUCCEEDS[1:]}"),
    # accounts
    Row("POST", "/v1/auth/signup", PUBLIC, 201, body=SIGNUP),
    Row("POST", "/v1/auth/verify-phone", PUBLIC, 400,
        body={"phone": SUCCEEDS, "code": "000000"}),
    Row("POST", "/v1/auth/verify-phone/resend", PUBLIC, 202, body={"phone": "{fresh_phone}"}),
    Row("POST", "/v1/auth/login", PUBLIC, 200,
        body={"login": "{owner_email}", "password": PASSWORD}),
    Row("POST", "/v1/auth/logout", ACCOUNT, 204),
    Row("POST", "/v1/auth/password/forgot", PUBLIC, 202, body={"email": "{fresh_email}"}),
    Row("POST", "/v1/auth/password/reset", PUBLIC, 400,
        body={"token": "x" * 43, "password": "a new long password"}),
    Row("GET", "/v1/me", ACCOUNT, 200),
    Row("PATCH", "/v1/me", ACCOUNT, 200, body={"language": "fr"}),
    Row("DELETE", "/v1/me", ACCOUNT, 204, body={"password": PASSWORD}),
    # cards
    Row("POST", "/v1/cards", ACCOUNT, 201, body=CARD),
    Row("GET", "/v1/cards", ACCOUNT, 200, lists="card"),
    Row("DELETE", "/v1/cards/{card_id}", OWNED, 204, "/v1/cards/{card}"),
    # orders
    Row("POST", "/v1/orders", ACCOUNT, 201, body=ORDER_BODY),
    Row("GET", "/v1/orders", ACCOUNT, 200, lists="order"),
    Row("GET", "/v1/orders/{order_id}", OWNED, 200, "/v1/orders/{order}"),
    Row("POST", "/v1/orders/{order_id}/repeat", OWNED, 201, "/v1/orders/{order}/repeat",
        body={"confirm_duplicate": True}),
    # monthly plans
    Row("GET", "/v1/plans", PUBLIC, 200),
    Row("POST", "/v1/subscriptions", ACCOUNT, 201, body=SUBSCRIPTION_BODY),
    Row("GET", "/v1/subscriptions", ACCOUNT, 200, lists="subscription"),
    Row("GET", "/v1/subscriptions/{subscription_id}", OWNED, 200,
        "/v1/subscriptions/{subscription}"),
    Row("PATCH", "/v1/subscriptions/{subscription_id}", OWNED, 200,
        "/v1/subscriptions/{subscription}", body={"card_id": "{card}"}),
    Row("DELETE", "/v1/subscriptions/{subscription_id}", OWNED, 200,
        "/v1/subscriptions/{subscription}"),
    # wallet
    Row("GET", "/v1/wallet", ACCOUNT, 200),
    Row("GET", "/v1/wallet/transactions", ACCOUNT, 200, lists="wallet_line"),
    Row("POST", "/v1/wallet/fund", ACCOUNT, 201, body=FUNDING),
    # refunds
    Row("POST", "/v1/refund-requests/preview", OWNED, 200, body=REFUND_BODY),
    Row("POST", "/v1/refund-requests", OWNED, 201, body=REFUND_BODY),
    Row("GET", "/v1/refund-requests", ACCOUNT, 200, lists="refund"),
    Row("GET", "/v1/refund-requests/{request_id}", OWNED, 200, "/v1/refund-requests/{refund}"),
    # auto top-ups
    Row("POST", "/v1/schedules", OWNED, 201, body=SCHEDULE_BODY, denied=422),
    Row("GET", "/v1/schedules", ACCOUNT, 200, lists="schedule"),
    Row("GET", "/v1/schedules/{schedule_id}", OWNED, 200, "/v1/schedules/{schedule}"),
    Row("PATCH", "/v1/schedules/{schedule_id}", OWNED, 200, "/v1/schedules/{schedule}",
        {"card_id": "{card}"}),
    Row("POST", "/v1/schedules/{schedule_id}/pause", OWNED, 200,
        "/v1/schedules/{schedule}/pause"),
    Row("POST", "/v1/schedules/{schedule_id}/resume", OWNED, 200,
        "/v1/schedules/{schedule}/resume"),
    Row("DELETE", "/v1/schedules/{schedule_id}", OWNED, 204, "/v1/schedules/{schedule}"),
    # promo codes: a preview reserves nothing, so every account may ask
    Row("POST", "/v1/promo-codes/preview", ACCOUNT, 200, body=PROMO_PREVIEW),
    # sandbox: open to anyone, and only outside production (tests/notifications)
    Row("GET", "/v1/sandbox/messages", PUBLIC, 200),
    Row("POST", "/v1/sandbox/clock", PUBLIC, 200, body={"advance_seconds": 1}),
    # spending from a sandbox calling card: its buyer only (a card is money)
    Row("POST", "/v1/sandbox/calling-cards/{order_id}/use", OWNED, 200,
        "/v1/sandbox/calling-cards/{calling_card}/use", {"amount": 1, "currency": "NGN"}),
    # the supplier's callback: no login counts, only the supplier's signature, so every
    # caller without it is refused alike (tests/orders/test_supplier_faults.py signs it)
    Row("POST", "/v1/suppliers/reloadly/callback", PUBLIC, 401, body={"data": {}}),
    # back office: the day's work
    Row("GET", "/v1/admin/rules", STAFF, 200),
    Row("GET", "/v1/admin/reviews", STAFF, 200),
    Row("GET", "/v1/admin/orders/{order_id}", STAFF, 200, "/v1/admin/orders/{order}"),
    Row("POST", "/v1/admin/reviews/{order_id}/approve", STAFF, 200,
        "/v1/admin/reviews/{fresh_review}/approve"),
    Row("POST", "/v1/admin/reviews/{order_id}/reject", STAFF, 200,
        "/v1/admin/reviews/{fresh_review}/reject", {"reason": "Card country."}),
    Row("POST", "/v1/admin/customers/{customer_id}/block", STAFF, 200,
        "/v1/admin/customers/{fresh_customer}/block", {"reason": "Chargebacks."}),
    Row("DELETE", "/v1/admin/customers/{customer_id}/block", STAFF, 200,
        "/v1/admin/customers/{fresh_blocked_customer}/block"),
    Row("POST", "/v1/admin/cards/blocks", STAFF, 201,
        body={"fingerprint": "{fingerprint}", "reason": "Stolen."}),
    Row("DELETE", "/v1/admin/cards/blocks/{fingerprint}", STAFF, 204,
        "/v1/admin/cards/blocks/{fresh_fingerprint}"),
    Row("GET", "/v1/admin/audit", STAFF, 200),
    Row("GET", "/v1/admin/refund-requests", STAFF, 200),
    Row("POST", "/v1/admin/refund-requests/{request_id}/approve", STAFF, 200,
        "/v1/admin/refund-requests/{fresh_refund}/approve"),
    Row("POST", "/v1/admin/refund-requests/{request_id}/reject", STAFF, 200,
        "/v1/admin/refund-requests/{fresh_refund}/reject", {"reason": "Delivered."}),
    Row("GET", "/v1/admin/refund-policies", STAFF, 200),
    # back office: the rules, admins alone
    Row("PUT", "/v1/admin/rules/limits/{rule_id}", ADMINS, 200, "/v1/admin/rules/limits/x",
        LIMIT_RULE),
    Row("PUT", "/v1/admin/rules/markets/{market}", ADMINS, 200, "/v1/admin/rules/markets/IT",
        {"description": "d"}),
    Row("PUT", "/v1/admin/rules/signals/{signal_id}", ADMINS, 200,
        "/v1/admin/rules/signals/decline_burst", SIGNAL),
    Row("PUT", "/v1/admin/rules/thresholds", ADMINS, 200, body=THRESHOLDS),
    Row("PUT", "/v1/admin/refund-policies/{product_type}", ADMINS, 200,
        "/v1/admin/refund-policies/topup", TOPUP_POLICY),
    # back office: operator promotions (staff read, admins change)
    Row("GET", "/v1/admin/operator-promotions", STAFF, 200),
    Row("POST", "/v1/admin/operator-promotions", ADMINS, 201, body=OPERATOR_PROMOTION),
    Row("PATCH", "/v1/admin/operator-promotions/{promotion_id}", ADMINS, 200,
        "/v1/admin/operator-promotions/{operator_promotion}", {"enabled": False}),
    Row("POST", "/v1/admin/promo-codes", ADMINS, 201, body=PROMO_TERMS),
    Row("GET", "/v1/admin/promo-codes", ADMINS, 200),
    Row("GET", "/v1/admin/promo-codes/{code_id}", ADMINS, 200,
        "/v1/admin/promo-codes/{promo_code_id}"),
    Row("PATCH", "/v1/admin/promo-codes/{code_id}", ADMINS, 200,
        "/v1/admin/promo-codes/{promo_code_id}", {"enabled": True}),
]
# fmt: on
ROWS = {(row.method, row.route): row for row in TABLE}
# Denied callers first, the allowed ones after them, the owner last: what the owner may
# do (remove their card, delete their account) then cannot spoil another cell.
ORDER_OF_CALLS = (ANONYMOUS, OTHER, SUPPORT, ADMIN, OWNER)


def api_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(env=Environment.test))
    return {
        (method, path)
        for method, path, module in routes_of(app)
        if not module.startswith("topup.storefront")
    }


def test_every_endpoint_has_its_row_and_every_row_an_endpoint() -> None:
    routes = api_routes()
    assert sorted(routes - ROWS.keys()) == [], "a route without a row in TABLE"
    assert sorted(ROWS.keys() - routes) == [], "a row in TABLE for no route"
    assert len(ROWS) == len(TABLE), "a route named twice in TABLE"


async def ask(world: World, row: Row, caller: Caller) -> tuple[int, str]:
    path = await world.resolve(row.target or row.route)
    body = await world.resolve(row.body)
    headers = caller.headers | {"Idempotency-Key": new_id("key")}
    response = await world.http.request(row.method, path, json=body, headers=headers)
    assert response.status_code < 500, response.text
    if response.is_success:
        world.spend()
    return response.status_code, response.text


@pytest.mark.parametrize("row", TABLE, ids=[f"{row.method} {row.route}" for row in TABLE])
async def test_each_caller_gets_what_the_table_says(risky: Risky, row: Row) -> None:
    world = await World.build(risky)
    shown = await world.resource(row.lists) if row.lists else None  # made before any call
    answers: dict[str, int] = {}
    for name in ORDER_OF_CALLS:
        status, text = await ask(world, row, world.callers[name])
        answers[name] = status
        if shown is not None and status == 200:
            listed = shown in text
            assert listed is (name == OWNER), f"{row.lists} in the list of {name}: {listed}"
    assert answers == {name: row.expected(name) for name in ORDER_OF_CALLS}
