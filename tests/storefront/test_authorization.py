"""Who may open each storefront page and send each form: every route × anonymous, the owner
of a resource, another customer, support and admin (staff are customers to the pages),
each a real request with a valid CSRF token, so that only the login decides.

Every (method, path) the storefront answers has its row; a page without one fails the first
test. ``anonymous``, ``owner`` and ``others`` are the statuses each gets: 303 is a redirect
(to the login page for someone anonymous on a private page), 404 is someone else's order or
card, answered as if it did not exist. The CSRF refusals are in ``test_csrf.py``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from tests.accounts.helpers import PASSWORD
from tests.fixtures.authorization import (
    ANONYMOUS,
    OWNER,
    SIGNUP,
    SUCCEEDS,
    Caller,
    World,
    routes_of,
)
from tests.fixtures.risky import Risky
from tests.orders.conftest import NEXT_YEAR
from tests.storefront.support import csrf_of
from topup.app import create_app
from topup.config import Environment, Settings
from topup.storefront.web import CSRF_FIELD, csrf_cookie_name, csrf_token_for, session_cookie_name

REVIEW = f"/topup/review?phone=%2B{SUCCEEDS[1:]}&product_id=ng-mtn-2500"
PAY = {
    "phone": SUCCEEDS,
    "product_id": "ng-mtn-2500",
    "confirm_number": "yes",
    "card_id": "new",
    "card_number": "{fresh_card_number}",
    "exp_month": "12",
    "exp_year": str(NEXT_YEAR),
    "cvc": "123",
    "idempotency_key": "{fresh_key}",
}
PROFILE = {"language": "en", "date_of_birth": "1990-05-17", "residence_country": "FR"}


@dataclass(frozen=True)
class Page:
    method: str
    route: str
    anonymous: int
    owner: int
    others: int  # another customer, support and admin
    target: str | None = None
    form: dict[str, str] | None = None
    login_first: bool = False  # someone anonymous is sent to the login page

    def expected(self, caller: str) -> int:
        return {ANONYMOUS: self.anonymous, OWNER: self.owner}.get(caller, self.others)


# fmt: off
PAGES = [
    # the shop, open to all
    Page("GET", "/", 200, 200, 200),
    Page("GET", "/topup", 200, 200, 200, f"/topup?phone=%2B{SUCCEEDS[1:]}"),
    Page("GET", "/topup/check", 200, 200, 200, f"/topup/check?phone=%2B{SUCCEEDS[1:]}"),
    Page("GET", "/help", 200, 200, 200),
    Page("GET", "/sandbox/inbox", 200, 200, 200),
    Page("GET", "/static/{path:path}", 200, 200, 200, "/static/topup.css"),
    Page("POST", "/language", 303, 303, 303, form={"language": "fr", "next": "/"}),
    # buying takes a login
    Page("GET", "/topup/review", 303, 200, 200, REVIEW, login_first=True),
    Page("POST", "/topup/pay", 303, 303, 303, form=PAY, login_first=True),
    Page("GET", "/orders/{order_id}", 303, 200, 404, "/orders/{order}", login_first=True),
    Page("GET", "/orders/{order_id}/status", 303, 200, 404, "/orders/{order}/status",
         login_first=True),
    Page("GET", "/purchases", 303, 200, 200, login_first=True),
    Page("POST", "/orders/{order_id}/repeat", 303, 303, 404, "/orders/{order}/repeat",
         {"idempotency_key": "{fresh_key}", "confirm_duplicate": "yes"}, login_first=True),
    Page("GET", "/cards", 303, 200, 200, login_first=True),
    Page("POST", "/cards/{card_id}/remove", 303, 303, 404, "/cards/{card}/remove", {},
         login_first=True),
    # the account journey
    Page("GET", "/signup", 200, 200, 200),
    Page("POST", "/signup", 303, 303, 303, form=SIGNUP),
    Page("GET", "/verify", 200, 200, 200),
    Page("POST", "/verify", 400, 400, 400, form={"phone": SUCCEEDS, "code": "000000"}),
    Page("POST", "/verify/resend", 200, 200, 200, form={"phone": "{fresh_phone}"}),
    Page("GET", "/login", 200, 303, 303),  # someone logged in goes straight on
    Page("POST", "/login", 303, 303, 303,
         form={"login": "{owner_email}", "password": PASSWORD}),
    Page("POST", "/logout", 303, 303, 303, form={}),
    Page("GET", "/forgot-password", 200, 200, 200),
    Page("POST", "/forgot-password", 200, 200, 200, form={"email": "{fresh_email}"}),
    Page("GET", "/reset-password", 200, 200, 200),
    Page("POST", "/reset-password", 400, 400, 400,
         form={"token": "x" * 43, "password": "a new long password"}),
    Page("GET", "/account", 303, 200, 200, login_first=True),
    Page("POST", "/account", 303, 200, 200, form=PROFILE, login_first=True),
    Page("POST", "/account/delete", 303, 303, 303,
         form={"delete_password": PASSWORD, "confirm_delete": "yes"}, login_first=True),
]
# fmt: on
BY_ROUTE = {(row.method, row.route): row for row in PAGES}
ORDER_OF_CALLS = ("anonymous", "other", "support", "admin", "owner")


def page_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(env=Environment.test))
    pages = {
        (method, path)
        for method, path, module in routes_of(app)
        if module.startswith("topup.storefront")
    }
    return pages | {("GET", "/static/{path:path}")}  # the mounted static files


def test_every_page_has_its_row_and_every_row_a_page() -> None:
    routes = page_routes()
    assert sorted(routes - BY_ROUTE.keys()) == [], "a page without a row in PAGES"
    assert sorted(BY_ROUTE.keys() - routes) == [], "a row in PAGES for no page"
    assert len(BY_ROUTE) == len(PAGES), "a page named twice in PAGES"


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    text: str


async def send(
    world: World, row: Page, caller: Caller, *, seed: str | None, token: str | None
) -> Answer:
    """The request a browser logged in as ``caller`` makes, holding the CSRF cookie
    ``seed`` and sending ``token`` in the form (either left out when None)."""
    runtime = world.risky.runtime
    cookies = {} if seed is None else {csrf_cookie_name(runtime): seed}
    if caller.token is not None:
        cookies[session_cookie_name(runtime)] = caller.token
    world.http.cookies.clear()  # only this caller's cookies, none kept from an answer
    path = await world.resolve(row.target or row.route)
    data = None if row.form is None else await world.resolve(row.form)
    if data is not None and token is not None:
        data[CSRF_FIELD] = token
    headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}
    response = await world.http.request(row.method, path, data=data, headers=headers)
    assert response.status_code < 500, response.text
    if response.is_success or response.is_redirect:
        world.spend()
    return Answer(response.status_code, response.headers.get("location", ""), response.text)


async def open_page(world: World, row: Page, caller: Caller) -> int:
    seed = secrets.token_urlsafe(32)
    token = csrf_token_for(world.risky.runtime.settings.secret_key, seed)
    answer = await send(world, row, caller, seed=seed, token=token)
    if caller.name == ANONYMOUS and row.login_first:
        assert answer.location.startswith("/login"), answer
    return answer.status


@pytest.mark.parametrize("row", PAGES, ids=[f"{row.method} {row.route}" for row in PAGES])
async def test_each_visitor_gets_what_the_table_says(risky: Risky, row: Page) -> None:
    world = await World.build(risky)
    answers = {name: await open_page(world, row, world.callers[name]) for name in ORDER_OF_CALLS}
    assert answers == {name: row.expected(name) for name in ORDER_OF_CALLS}


# ---- CSRF: every form, generated from the table's POST rows ------------------------------

FORMS = [row for row in PAGES if row.method == "POST"]
FORM_EXPIRED = "This form has expired. Reload the page and send it again."


async def token_of_another_browser(world: World) -> str:
    """The form token another customer's browser was given: valid, for its own cookie."""
    world.http.cookies.clear()
    other = world.callers["other"]
    runtime = world.risky.runtime
    home = await world.http.get(
        "/", headers={"Cookie": f"{session_cookie_name(runtime)}={other.token}"}
    )
    return csrf_of(home.text)


@pytest.mark.parametrize("row", FORMS, ids=[row.route for row in FORMS])
async def test_every_form_refuses_a_missing_wrong_or_borrowed_token(
    risky: Risky, row: Page
) -> None:
    world = await World.build(risky)
    owner = world.owner
    seed = secrets.token_urlsafe(32)
    secret = risky.runtime.settings.secret_key
    borrowed = await token_of_another_browser(world)
    attempts = {
        "no token": (seed, None),
        "a wrong token": (seed, "0" * 64),
        "another seed's token": (seed, csrf_token_for(secret, secrets.token_urlsafe(32))),
        "another session's token": (seed, borrowed),
        "a token without its cookie": (None, csrf_token_for(secret, seed)),
    }
    for what, (cookie, token) in attempts.items():
        answer = await send(world, row, owner, seed=cookie, token=token)
        assert (answer.status, FORM_EXPIRED in answer.text) == (403, True), what
    # The same form with its own token goes through: only the token was wrong.
    answer = await send(world, row, owner, seed=seed, token=csrf_token_for(secret, seed))
    assert answer.status == row.owner
