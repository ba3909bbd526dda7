"""What every page shares: the CSRF check, the cookies, the security headers, the language
the visitor reads, and the redirects."""

from __future__ import annotations

from html import unescape
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from tests.accounts.helpers import PASSWORD, Person, new_person, sms_code
from tests.storefront.support import (
    CSRF_COOKIE,
    RECIPIENT,
    SESSION_COOKIE,
    cookie_attributes,
    csrf_of,
    customer_of,
    element,
    form_on,
    lang_of,
    location,
    log_in,
    order_id_from,
    pay,
    read,
    session_token,
    set_cookie,
    sign_up,
    submit,
    translated,
)
from topup.accounts.models import AccessToken, Customer
from topup.runtime import Runtime
from topup.storefront.web import preferred_language, safe_next

FORM_EXPIRED = "This form has expired. Reload the page and send it again."
PAGES = ["/", "/help", "/login", "/signup", "/forgot-password", "/verify", "/reset-password"]


# ---- CSRF ----------------------------------------------------------------------------------


async def login_form(client: httpx.AsyncClient) -> dict[str, str]:
    page = await client.get("/login")
    return form_on(page.text, "/login").fields


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert FORM_EXPIRED in response.text


async def test_a_form_with_its_token_goes_through(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    await submit(client, (await client.get("/")).text, "/logout")
    fields = await login_form(client)
    answer = await client.post(
        "/login", data=fields | {"login": shopper.email, "password": PASSWORD}
    )
    assert location(answer) == "/"
    same_site = await client.post(
        "/logout",
        data={"csrf_token": fields["csrf_token"]},
        headers={"Origin": "http://topup.test"},
    )
    assert location(same_site) == "/"


async def test_a_form_without_the_token_is_refused(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    await submit(client, (await client.get("/")).text, "/logout")
    fields = await login_form(client)
    del fields["csrf_token"]
    answer = await client.post(
        "/login", data=fields | {"login": shopper.email, "password": PASSWORD}
    )
    assert_refused(answer)
    assert client.cookies.get(SESSION_COOKIE) is None


async def test_a_form_with_a_wrong_token_is_refused(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    await submit(client, (await client.get("/")).text, "/logout")
    fields = await login_form(client)
    for forged in ("0" * 64, fields["csrf_token"][:-1] + "x", "", fields["csrf_token"].upper()):
        answer = await client.post(
            "/login",
            data=fields | {"csrf_token": forged, "login": shopper.email, "password": PASSWORD},
        )
        assert_refused(answer)
    assert client.cookies.get(SESSION_COOKIE) is None


async def test_a_token_without_its_cookie_is_refused(
    logged_in_client: httpx.AsyncClient,
) -> None:
    client = logged_in_client
    token = csrf_of((await client.get("/")).text)
    client.cookies.delete(CSRF_COOKIE)
    answer = await client.post("/logout", data={"csrf_token": token})
    assert_refused(answer)
    # A fresh seed comes with the refusal; the old token does not match it.
    fresh = set_cookie(answer, CSRF_COOKIE)
    assert fresh is not None
    assert csrf_of(answer.text) != token
    assert (await customer_of(client))["phone_verified"] is True  # still logged in


async def test_a_token_from_another_seed_is_refused(logged_in_client: httpx.AsyncClient) -> None:
    client = logged_in_client
    token = csrf_of((await client.get("/")).text)
    client.cookies.set(CSRF_COOKIE, "A" * 43, domain="topup.test", path="/")
    assert_refused(await client.post("/logout", data={"csrf_token": token}))


async def test_a_form_posted_from_another_site_is_refused(
    logged_in_client: httpx.AsyncClient,
) -> None:
    client = logged_in_client
    token = csrf_of((await client.get("/")).text)
    for origin in ("https://evil.example", "http://topup.test.evil.example", "http://evil.example"):
        answer = await client.post(
            "/logout", data={"csrf_token": token}, headers={"Origin": origin}
        )
        assert_refused(answer)
    assert (await customer_of(client))["phone_verified"] is True


async def test_a_refused_form_changes_nothing(logged_in_client: httpx.AsyncClient) -> None:
    client = logged_in_client
    token = session_token(client)
    assert_refused(await client.post("/logout", data={}))
    assert session_token(client) == token
    assert (await client.get("/purchases")).status_code == 200


# ---- cookies -------------------------------------------------------------------------------


async def test_the_first_page_sets_an_httponly_csrf_cookie(client: httpx.AsyncClient) -> None:
    first = await client.get("/")
    header = set_cookie(first, CSRF_COOKIE)
    assert header is not None
    attributes = cookie_attributes(header)
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    seed = client.cookies.get(CSRF_COOKIE)
    assert seed is not None
    assert len(seed) == 43
    assert seed not in first.text  # the page holds an HMAC of it, never the value itself

    second = await client.get("/help")
    assert set_cookie(second, CSRF_COOKIE) is None  # the same seed, kept
    assert csrf_of(second.text) == csrf_of(first.text)


async def test_the_session_cookie_is_httponly_and_same_site_lax(client: httpx.AsyncClient) -> None:
    person = new_person()
    page = await client.get(await sign_up(client, person))
    verified = await submit(client, page.text, "/verify", code=await sms_code(client, person.phone))
    header = set_cookie(verified, SESSION_COOKIE)
    assert header is not None
    attributes = cookie_attributes(header)
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert any(attribute.startswith("max-age=") for attribute in attributes)
    token = header.split(";")[0].split("=", 1)[1]
    assert token not in verified.text
    assert token not in (await client.get("/account")).text  # no page shows it

    await submit(client, (await client.get("/")).text, "/logout")
    again = await log_in(client, person.email)
    header = set_cookie(again, SESSION_COOKIE)
    assert header is not None
    assert {"httponly", "samesite=lax"} <= cookie_attributes(header)


# ---- headers -------------------------------------------------------------------------------


def assert_page_headers(response: httpx.Response) -> None:
    policy = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert response.headers.get_list("referrer-policy") == ["same-origin"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers.get_list("content-security-policy") == [policy]


async def test_pages_carry_the_page_security_headers(client: httpx.AsyncClient) -> None:
    for path in [*PAGES, "/no-such-page", "/purchases"]:
        assert_page_headers(await client.get(path))


async def test_redirects_and_refusals_carry_them_too(logged_in_client: httpx.AsyncClient) -> None:
    client = logged_in_client
    assert_page_headers(await client.post("/logout", data={}))  # 403
    assert_page_headers(await submit(client, (await client.get("/")).text, "/logout"))  # 303


async def test_the_json_api_keeps_its_own_policy(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/v1/no-such-thing", "/v1/me"):
        answer = await client.get(path)
        assert answer.headers["content-type"].startswith("application/json"), path
        assert answer.headers["content-security-policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )
        assert answer.headers.get_list("referrer-policy") == ["no-referrer"]
        assert answer.headers["x-content-type-options"] == "nosniff"


def assert_no_inline_code(path: str, html: str) -> None:
    """The policy forbids inline code and styles: a page that used them would break."""
    for tag in read(html).tags:
        assert "style" not in tag.attrs, (path, tag)
        assert not any(name.startswith("on") for name in tag.attrs), (path, tag)
        if tag.tag == "script":
            assert tag.attrs.get("src", "").startswith("/static/"), (path, tag)
            assert not tag.text, (path, tag)
        assert tag.tag != "style", path


async def test_pages_need_no_inline_script_or_style(client: httpx.AsyncClient) -> None:
    for path in [*PAGES, "/topup?country=NG&phone=08031234567", "/topup?phone=1"]:
        page = await client.get(path)
        assert page.status_code in (200, 422), path
        assert_no_inline_code(path, page.text)


async def test_private_pages_need_no_inline_script_or_style(
    logged_in_client: httpx.AsyncClient,
) -> None:
    client = logged_in_client
    order_id = order_id_from(await pay(client, save_card="yes"))
    paths = [
        "/purchases",
        "/cards",
        "/account",
        f"/orders/{order_id}",
        f"/orders/{order_id}/status",
    ]
    for path in [*paths, f"/topup/review?phone={quote(RECIPIENT)}&product_id=ng-mtn-2500"]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert_no_inline_code(path, page.text)


# ---- language ------------------------------------------------------------------------------


async def test_a_french_browser_reads_french(client: httpx.AsyncClient) -> None:
    home = await client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"})
    assert lang_of(home.text) == "fr"
    sentence = "Enter the number: we find its operator and what can be sent."
    text = unescape(home.text)
    assert translated("fr", sentence) in text
    assert sentence not in text
    assert "Mexique (+52)" in text  # country names come from CLDR, in the page's language
    assert 'aria-current="true">Français' in home.text


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("it", "it"),
        ("es-MX,es;q=0.9", "es"),
        ("de-DE,de;q=0.9,it;q=0.5,fr;q=0.4", "it"),
        ("fr;q=0.2,es;q=0.8", "es"),
        ("fr;q=0", "en"),
        ("de, nl", "en"),
        ("", "en"),
        ("fr;q=bogus, it", "it"),
    ],
)
def test_the_language_the_browser_prefers(header: str, language: str) -> None:
    assert preferred_language(header) == language


async def test_the_page_language_follows_the_browser(client: httpx.AsyncClient) -> None:
    for header, language in [("it", "it"), ("de-DE,de;q=0.9,es;q=0.5", "es"), ("de", "en")]:
        page = await client.get("/help", headers={"Accept-Language": header})
        assert lang_of(page.text) == language, header


# ---- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/purchases", "/purchases"),
        ("/topup/review?phone=%2B234&product_id=x", "/topup/review?phone=%2B234&product_id=x"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("evil.example", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_paths_of_this_site_are_followed(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


async def test_htmx_is_told_to_load_the_next_page_whole(
    logged_in_client: httpx.AsyncClient,
) -> None:
    client = logged_in_client
    token = csrf_of((await client.get("/")).text)
    answer = await client.post(
        "/logout", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert answer.headers["hx-redirect"] == "/"
    assert "location" not in answer.headers
    assert set_cookie(answer, SESSION_COOKIE) is not None  # the session still ends


async def test_the_layout_links_what_a_visitor_may_use(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    mine = await client.get("/")
    for link in ("/purchases", "/cards", "/account"):
        assert f'href="{link}"' in mine.text
    assert form_on(mine.text, "/logout").fields["csrf_token"] == csrf_of(mine.text)
    assert element(mine.text, "main").tag == "main"
    await submit(client, mine.text, "/logout")
    anonymous = await client.get("/")
    assert 'href="/purchases"' not in anonymous.text
    assert 'href="/login"' in anonymous.text


# ---- the NUL character ---------------------------------------------------------------------
# PostgreSQL can neither store nor compare U+0000. The API refuses it as JSON
# (tests/kit/test_hostile_input.py); a page shows the refusal as a page, and stores nothing.

NUL_REFUSED = "may not contain the NUL character (U+0000)."


def assert_nul_page(response: httpx.Response, field_name: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert f"{field_name}: {NUL_REFUSED}" in unescape(response.text)
    assert "\x00" not in response.text


async def test_a_nul_in_a_sign_up_field_is_shown_on_a_page(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    person = new_person()
    form = await client.get("/signup")

    sent = await submit(client, form.text, "/signup", **person.body(first_name="Ada\x00"))

    assert_nul_page(sent, "first_name")
    assert client.cookies.get("topup_signup") is None
    async with runtime.session_factory() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.email == person.email)
        )
    assert stored == 0


async def test_a_nul_in_a_login_field_is_shown_on_a_page(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    form = await client.get("/login")
    tokens = select(func.count()).select_from(AccessToken)
    async with runtime.session_factory() as session:
        before = await session.scalar(tokens)

    sent = await submit(client, form.text, "/login", login="ada\x00@example.com", password="x")

    assert_nul_page(sent, "login")
    assert client.cookies.get(SESSION_COOKIE) is None
    async with runtime.session_factory() as session:
        assert await session.scalar(tokens) == before


async def test_a_nul_in_a_page_query_string_is_shown_on_a_page(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/topup/review", params={"product_id": "p\x00", "phone": "1"})

    assert_nul_page(response, "product_id")


async def test_a_nul_in_the_api_stays_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/countries", params={"q": "\x00"})

    assert response.status_code == 422, response.text
    assert response.json()["error"] == {
        "code": "invalid_field",
        "message": f"q: {NUL_REFUSED}",
        "field": "q",
    }
