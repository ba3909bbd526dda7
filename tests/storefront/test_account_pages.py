"""Accounts in the browser: sign-up and the SMS code, login and logout, passwords, the
account page, deletion and the language switch."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote, urlsplit

import httpx

from tests.accounts.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    Person,
    bearer,
    messages,
    new_person,
    sms_code,
)
from tests.storefront.support import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    assert_field_error,
    cookie_attributes,
    customer_of,
    element,
    form_on,
    lang_of,
    location,
    log_in,
    query_of,
    session_token,
    set_cookie,
    sign_up,
    submit,
    translated,
    use_session,
)

RESET_LINK = re.compile(r"\S*/reset-password\?token=[A-Za-z0-9_%.-]+")
WRONG_LOGIN = "The email, phone number or password is not right."


def cleared(response: httpx.Response, name: str) -> bool:
    """The answer tells the browser to drop the cookie."""
    header = set_cookie(response, name)
    return header is not None and "max-age=0" in cookie_attributes(header)


# ---- sign-up and the code ------------------------------------------------------------------


async def test_signing_up_and_typing_the_code_logs_the_browser_in(
    client: httpx.AsyncClient,
) -> None:
    person = new_person()
    verify_path = await sign_up(client, person, next_path="/purchases")
    assert query_of(verify_path) == {"phone": person.phone, "next": "/purchases"}
    assert client.cookies.get(SESSION_COOKIE) is None  # not before the code

    verify_page = await client.get(verify_path)
    assert element(verify_page.text, "phone").attrs["value"] == person.phone
    wrong = await submit(client, verify_page.text, "/verify", code="000000")
    assert wrong.status_code in (400, 422), wrong.text
    assert_field_error(wrong.text, "code", "This code is wrong or has expired.")
    assert client.cookies.get(SESSION_COOKIE) is None

    right = await submit(client, wrong.text, "/verify", code=await sms_code(client, person.phone))
    assert location(right) == "/purchases"
    assert cleared(right, "topup_signup")
    me = await customer_of(client)
    assert me["phone"] == person.phone
    assert me["phone_verified"] is True
    assert (await client.get("/purchases")).status_code == 200


async def test_a_code_typed_in_another_browser_asks_to_log_in(
    client: httpx.AsyncClient,
) -> None:
    person = new_person()
    verify_path = await sign_up(client, person)
    client.cookies.delete("topup_signup")  # another browser: it did not sign up
    verify_page = await client.get(verify_path)
    confirmed = await submit(
        client, verify_page.text, "/verify", code=await sms_code(client, person.phone)
    )
    target = location(confirmed)
    assert target.startswith("/login?")
    assert query_of(target)["notice"] == "verified"
    assert client.cookies.get(SESSION_COOKIE) is None
    login_page = await client.get(target)
    assert "Your phone number is confirmed." in login_page.text


async def test_a_new_code_is_refused_within_the_minute(client: httpx.AsyncClient) -> None:
    person = new_person()
    verify_page = await client.get(await sign_up(client, person))
    too_soon = await submit(client, verify_page.text, "/verify/resend")
    assert too_soon.status_code == 429, too_soon.text
    assert "Too many attempts. Please wait a moment and try again." in too_soon.text
    assert element(too_soon.text, "phone").attrs["value"] == person.phone
    assert len(await messages(client, person.phone)) == 1


async def test_a_new_code_for_a_number_without_account_reads_alike(
    client: httpx.AsyncClient,
) -> None:
    stranger = new_person()
    verify_page = await client.get("/verify", params={"phone": stranger.phone})
    answer = await submit(client, verify_page.text, "/verify/resend")
    assert answer.status_code == 200, answer.text
    assert "We have sent a new code if this number has an account" in answer.text
    assert await messages(client, stranger.phone) == []


async def test_a_sign_up_form_with_mistakes_is_shown_again(client: httpx.AsyncClient) -> None:
    person = new_person()
    form = await client.get("/signup")
    weak = await submit(client, form.text, "/signup", **person.body(password="short1"))
    assert weak.status_code == 422, weak.text
    assert_field_error(weak.text, "password", "at least 10 characters")
    assert element(weak.text, "password").attrs["value"] == ""
    assert "short1" not in weak.text
    assert element(weak.text, "email").attrs["value"] == person.email
    assert element(weak.text, "first_name").attrs["value"] == person.first_name

    bad_email = await submit(client, weak.text, "/signup", **person.body(email="ada@"))
    assert bad_email.status_code == 422, bad_email.text
    assert_field_error(bad_email.text, "email", "This email address is not valid.")

    bad_phone = await submit(client, weak.text, "/signup", **person.body(phone="12"))
    assert bad_phone.status_code == 422, bad_phone.text
    assert_field_error(bad_phone.text, "phone")
    assert client.cookies.get("topup_signup") is None


# ---- login and logout ----------------------------------------------------------------------


async def test_a_wrong_password_is_shown_at_the_login_field(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    await submit(client, (await client.get("/")).text, "/logout")
    refused = await log_in(client, shopper.email, "not the password")
    assert refused.status_code == 401, refused.text
    assert_field_error(refused.text, "login", WRONG_LOGIN)
    assert element(refused.text, "login").attrs["value"] == shopper.email
    assert "not the password" not in refused.text
    assert element(refused.text, "password").attrs["value"] == ""
    assert client.cookies.get(SESSION_COOKIE) is None

    by_phone = await submit(
        client, refused.text, "/login", login=shopper.phone, password=shopper.password
    )
    assert location(by_phone) == "/"
    assert client.cookies.get(SESSION_COOKIE)


async def test_logging_out_ends_the_session(client: httpx.AsyncClient, shopper: Person) -> None:
    token = session_token(client)
    purchases = await client.get("/purchases")
    assert purchases.status_code == 200
    assert 'action="/logout"' in purchases.text

    out = await submit(client, purchases.text, "/logout")
    assert location(out) == "/"
    assert cleared(out, SESSION_COOKIE)
    assert client.cookies.get(SESSION_COOKIE) is None

    use_session(client, token)  # the old cookie, kept or stolen
    replayed = await client.get("/purchases")
    assert location(replayed) == "/login?next=/purchases"
    assert cleared(replayed, SESSION_COOKIE)  # an ended session's cookie is thrown away
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 401


ELSEWHERE = [
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "http:evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
]


async def test_login_never_sends_the_browser_to_another_site(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    for target in ELSEWHERE:  # already logged in: straight on, but only to this site
        logged_in_already = await client.get("/login", params={"next": target})
        assert location(logged_in_already) == "/", target

    await submit(client, (await client.get("/")).text, "/logout")
    for target in ELSEWHERE:
        form = await client.get("/login", params={"next": target})
        assert form_on(form.text, "/login").fields["next"] == "/", target

    form = await client.get("/login", params={"next": "//evil.example"})
    answer = await submit(client, form.text, "/login", login=shopper.email, password=PASSWORD)
    assert location(answer) == "/"

    await submit(client, (await client.get("/")).text, "/logout")
    posted = await submit(  # the form's field changed by hand
        client,
        form.text,
        "/login",
        login=shopper.email,
        password=PASSWORD,
        next="https://evil.example",
    )
    assert location(posted) == "/"


async def test_login_comes_back_to_the_page_asked_for(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    await submit(client, (await client.get("/")).text, "/logout")
    answer = await log_in(client, shopper.email, next_path="/cards?from=menu")
    assert location(answer) == "/cards?from=menu"


async def test_private_pages_send_anonymous_visitors_to_log_in(
    client: httpx.AsyncClient,
) -> None:
    review = "/topup/review?phone=%2B2348031234567&product_id=ng-mtn-2500"
    order = "/orders/ord_" + "a" * 32
    for path, target in [
        ("/account", "/login?next=%2Faccount"),
        ("/purchases", "/login?next=/purchases"),
        ("/cards", "/login?next=/cards"),
        (review, "/login?next=" + quote(review, safe="")),
        (order, "/login?next=" + quote(order, safe="")),
    ]:
        assert location(await client.get(path)) == target, path
    assert location(await client.get(f"{order}/status")).startswith("/login")


# ---- forgotten passwords -------------------------------------------------------------------


async def test_a_forgotten_password_is_reset_through_the_emailed_link(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    old_session = session_token(client)
    forgot = await client.get("/forgot-password")
    sent = await submit(client, forgot.text, "/forgot-password", email=shopper.email)
    assert sent.status_code == 200, sent.text
    assert "we have sent it a link" in sent.text

    emails = [m for m in await messages(client, shopper.email) if m["channel"] == "email"]
    link = next(found for m in emails if (found := RESET_LINK.search(m["body"])))
    parts = urlsplit(link.group(0))
    token = query_of(link.group(0))["token"]
    reset_page = await client.get(f"{parts.path}?{parts.query}")
    assert reset_page.status_code == 200
    assert form_on(reset_page.text, "/reset-password").fields["token"] == token

    weak = await submit(client, reset_page.text, "/reset-password", password="short")
    assert weak.status_code == 422, weak.text
    assert_field_error(weak.text, "password", "at least 10 characters")

    done = await submit(client, weak.text, "/reset-password", password=NEW_PASSWORD)
    assert location(done) == "/login?notice=password_changed"
    assert cleared(done, SESSION_COOKIE)
    assert (await client.get("/v1/me", headers=bearer(old_session))).status_code == 401
    notice = await client.get(location(done))
    assert "Your new password is saved." in notice.text

    assert (await log_in(client, shopper.email, PASSWORD)).status_code == 401
    assert location(await log_in(client, shopper.email, NEW_PASSWORD)) == "/"

    used = await submit(client, reset_page.text, "/reset-password", password="another 10 chars")
    assert used.status_code in (400, 422), used.text
    assert "This link has expired or was already used." in used.text


async def test_forgot_password_says_the_same_for_an_unknown_address(
    client: httpx.AsyncClient,
) -> None:
    forgot = await client.get("/forgot-password")
    sent = await submit(client, forgot.text, "/forgot-password", email="nobody@example.com")
    assert sent.status_code == 200, sent.text
    assert "we have sent it a link" in sent.text
    assert await messages(client, "nobody@example.com") == []


# ---- the account page ----------------------------------------------------------------------


async def test_the_account_page_saves_date_of_birth_and_residence(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    page = await client.get("/account")
    assert page.status_code == 200
    assert shopper.email in page.text
    saved = await submit(
        client, page.text, "/account", date_of_birth="1990-05-17", residence_country="IT"
    )
    assert saved.status_code == 200, saved.text
    assert "Your details are saved." in saved.text
    fields = form_on(saved.text, "/account").fields
    assert fields["date_of_birth"] == "1990-05-17"
    assert fields["residence_country"] == "IT"
    me = await customer_of(client)
    assert (me["date_of_birth"], me["residence_country"]) == ("1990-05-17", "IT")

    future = await submit(client, saved.text, "/account", date_of_birth="2999-01-01")
    assert future.status_code == 422, future.text
    assert_field_error(future.text, "date_of_birth", "Give a real date of birth")
    assert (await customer_of(client))["date_of_birth"] == "1990-05-17"

    reloaded = await client.get("/account")
    assert form_on(reloaded.text, "/account").fields["residence_country"] == "IT"


async def test_deleting_the_account_needs_the_password_and_the_box(
    client: httpx.AsyncClient, shopper: Person
) -> None:
    token = session_token(client)
    page = await client.get("/account")

    unticked = await submit(client, page.text, "/account/delete", delete_password=PASSWORD)
    assert unticked.status_code == 422, unticked.text
    assert_field_error(unticked.text, "confirm_delete", "Tick the box")
    assert "checked" not in element(unticked.text, "confirm_delete").attrs

    wrong = await submit(
        client, page.text, "/account/delete", delete_password="not it at all", confirm_delete="yes"
    )
    assert wrong.status_code == 401, wrong.text
    assert_field_error(wrong.text, "delete_password")
    assert "not it at all" not in wrong.text
    assert (await customer_of(client))["email"] == shopper.email  # still there

    deleted = await submit(
        client, page.text, "/account/delete", delete_password=PASSWORD, confirm_delete="yes"
    )
    assert location(deleted) == "/?deleted=1"
    assert cleared(deleted, SESSION_COOKIE)
    assert client.cookies.get(SESSION_COOKIE) is None
    farewell = await client.get("/?deleted=1")
    assert "Your account is deleted." in farewell.text

    use_session(client, token)
    assert location(await client.get("/account")) == "/login?next=%2Faccount"
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 401
    assert (await log_in(client, shopper.email, PASSWORD)).status_code == 401


# ---- languages -----------------------------------------------------------------------------


async def test_a_chosen_language_is_kept_in_a_cookie(client: httpx.AsyncClient) -> None:
    help_page = await client.get("/help", headers={"Accept-Language": "fr"})
    chosen = await submit(client, help_page.text, "/language", language="it")
    assert location(chosen) == "/help"
    cookie = set_cookie(chosen, LANGUAGE_COOKIE)
    assert cookie is not None
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=it;")
    assert "samesite=lax" in cookie_attributes(cookie)

    # The choice outranks what the browser asks for.
    italian = await client.get("/help", headers={"Accept-Language": "fr"})
    assert lang_of(italian.text) == "it"
    sentence = "Dial the code of their operator from the phone that was topped up."
    assert translated("it", sentence) in unescape(italian.text)
    assert sentence not in italian.text


async def test_an_unknown_language_changes_nothing(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    answer = await submit(client, home.text, "/language", language="de", next="//evil.example")
    assert location(answer) == "/"
    assert set_cookie(answer, LANGUAGE_COOKIE) is None
    assert lang_of((await client.get("/")).text) == "en"


async def test_a_logged_in_choice_changes_the_account_language(
    logged_in_client: httpx.AsyncClient,
) -> None:
    client = logged_in_client
    assert (await customer_of(client))["language"] == "en"
    home = await client.get("/purchases")
    chosen = await submit(client, home.text, "/language", language="es")
    assert location(chosen) == "/purchases"
    assert (await customer_of(client))["language"] == "es"  # its emails and SMS follow

    # On another device with no cookie, the account's language is the page's.
    client.cookies.delete(LANGUAGE_COOKIE)
    assert lang_of((await client.get("/purchases")).text) == "es"


async def test_the_account_page_language_replaces_the_cookie(
    logged_in_client: httpx.AsyncClient,
) -> None:
    client = logged_in_client
    await submit(client, (await client.get("/")).text, "/language", language="it")
    page = await client.get("/account")
    assert lang_of(page.text) == "it"
    saved = await submit(client, page.text, "/account", language="fr")
    assert saved.status_code == 200, saved.text
    assert cleared(saved, LANGUAGE_COOKIE)
    assert (await customer_of(client))["language"] == "fr"
    assert lang_of((await client.get("/account")).text) == "fr"


async def test_forms_without_the_token_change_no_account(
    logged_in_client: httpx.AsyncClient, shopper: Person
) -> None:
    client = logged_in_client
    forged = await client.post(
        "/account/delete", data={"delete_password": PASSWORD, "confirm_delete": "yes"}
    )
    assert forged.status_code == 403
    language = await client.post("/language", data={"language": "it", "csrf_token": "0" * 64})
    assert language.status_code == 403
    assert set_cookie(language, LANGUAGE_COOKIE) is None
    me = await customer_of(client)
    assert (me["email"], me["language"]) == (shopper.email, "en")


async def test_sign_up_never_sends_the_browser_to_another_site(
    client: httpx.AsyncClient,
) -> None:
    person = new_person()
    verify_path = await sign_up(client, person, next_path="//evil.example")
    assert query_of(verify_path)["next"] == "/"
    verify_page = await client.get(verify_path)
    confirmed = await submit(
        client,
        verify_page.text,
        "/verify",
        code=await sms_code(client, person.phone),
        next="https://evil.example",
    )
    assert location(confirmed) == "/"


async def test_a_next_path_is_shown_back_as_text(client: httpx.AsyncClient) -> None:
    target = '/"><script>alert(1)</script>'
    page = await client.get("/login", params={"next": target})
    assert "<script>alert(1)" not in page.text
    assert form_on(page.text, "/login").fields["next"] == target


async def test_the_page_after_saving_a_language_is_in_that_language(
    logged_in_client: httpx.AsyncClient,
) -> None:
    """BUG: POST /account renders its answer in the language the visitor had before the
    save (``Visitor.language`` is computed before the account changes), so choosing
    "Français" and pressing Save shows "Your details are saved." in English; only the
    next page is French."""
    client = logged_in_client
    page = await client.get("/account")
    assert lang_of(page.text) == "en"
    saved = await submit(client, page.text, "/account", language="fr")
    assert saved.status_code == 200, saved.text
    assert (await customer_of(client))["language"] == "fr"
    assert lang_of((await client.get("/account")).text) == "fr"
    assert lang_of(saved.text) == "fr"
