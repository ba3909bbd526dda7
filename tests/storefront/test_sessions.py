"""The pages' login sessions: a new one at each login (no fixation), the one before it ended,
every session of the account ended by a password reset, and the cookies Secure and
host-only wherever the site is served over HTTPS. (Logout and deletion ending the session
server-side are in test_account_pages.py, the cookie flags over HTTP in test_web.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts.helpers import NEW_PASSWORD, PASSWORD, Person, bearer, forgot, open_account
from tests.accounts.helpers import reset_token as emailed_reset_token
from tests.fixtures.transport import SettlingTransport
from tests.storefront.support import (
    SESSION_COOKIE,
    cookie_attributes,
    csrf_of,
    location,
    log_in,
    session_token,
    set_cookie,
    submit,
    use_session,
)
from topup.app import create_app
from topup.config import Settings
from topup.runtime import build_runtime


async def test_a_login_gives_a_new_session_and_ends_the_one_the_browser_held(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    before = session_token(client)
    someone_else = await open_account(client)

    # The login page sends someone logged in straight on; the form is posted all the same
    # (from a tab opened before, or by whoever sits down at the same computer).
    home = await client.get("/")
    again = await client.post(
        "/login",
        data={
            "csrf_token": csrf_of(home.text),
            "login": someone_else.person.email,
            "password": PASSWORD,
        },
    )

    assert location(again) == "/"
    after = session_token(client)
    assert after not in (before, someone_else.token)
    assert (await client.get("/v1/me", headers=bearer(after))).status_code == 200
    # Whoever kept the cookie the browser held is logged out with it.
    assert (await client.get("/v1/me", headers=bearer(before))).status_code == 401


async def test_a_cookie_planted_before_login_is_never_the_session(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    await submit(client, (await client.get("/")).text, "/logout")
    planted = "planted-by-someone-who-wants-to-share-the-session"
    use_session(client, planted)

    answer = await log_in(client, shopper.email)

    assert location(answer) == "/"
    assert session_token(client) != planted
    assert (await client.get("/v1/me", headers=bearer(planted))).status_code == 401


async def test_a_password_reset_ends_the_sessions_of_every_browser(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    """README: sessions end "at a password reset (all of them)"."""
    this_browser = session_token(client)
    api_token = await api_login(client, shopper)
    client.cookies.clear()  # the reset happens in another browser, logged out
    assert (await forgot(client, shopper.email)).status_code == 202
    token = await emailed_reset_token(client, shopper.email)
    page = await client.get("/reset-password", params={"token": token})

    done = await submit(client, page.text, "/reset-password", password=NEW_PASSWORD)

    assert location(done) == "/login?notice=password_changed"
    use_session(client, this_browser)
    assert location(await client.get("/purchases")) == "/login?next=/purchases"
    assert (await client.get("/v1/me", headers=bearer(api_token))).status_code == 401


async def api_login(client: httpx.AsyncClient, person: Person) -> str:
    """A second session of the account, through the API."""
    answer = await client.post("/v1/auth/login", json={"login": person.email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


# ---- over HTTPS ----------------------------------------------------------------------------


@pytest.fixture
async def https_client(settings: Settings, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """The app served at an https:// public address (a staging site, not production)."""
    served = settings.model_copy(update={"public_url": "https://topup.test"})
    runtime = build_runtime(served, engine)
    app = create_app(served, runtime)
    async with app.router.lifespan_context(app):
        transport = SettlingTransport(runtime, app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://topup.test") as http:
            yield http


def assert_secure_host_cookie(header: str | None) -> None:
    assert header is not None
    attributes = cookie_attributes(header)
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= attributes, header
    assert not any(part.startswith("domain=") for part in attributes), header


async def test_over_https_the_cookies_are_secure_and_host_only(
    https_client: httpx.AsyncClient,
) -> None:
    client = https_client
    account = await open_account(client)
    first = await client.get("/login")
    assert_secure_host_cookie(set_cookie(first, "__Host-topup_csrf"))

    logged_in = await log_in(client, account.person.email)

    assert location(logged_in) == "/"
    assert_secure_host_cookie(set_cookie(logged_in, "__Host-topup_session"))
    assert set_cookie(logged_in, SESSION_COOKIE) is None  # never the plain-HTTP name
    out = await submit(client, (await client.get("/")).text, "/logout")
    # A __Host- cookie is only cleared by a Set-Cookie that is Secure and for "/" as well.
    assert_secure_host_cookie(set_cookie(out, "__Host-topup_session"))
