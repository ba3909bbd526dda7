"""What the storefront tests share: reading pages as a browser does, and short journeys.

A browser without JavaScript only ever sends what a page's forms hold, so the tests do the
same: ``submit`` posts a form found on the page with the values it carries (hidden fields,
ticked boxes, chosen options, the CSRF token) plus what the person types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from tests.accounts.helpers import PASSWORD, Person, bearer, new_person, sms_code
from topup.kit import clock
from topup.notifications.rendering import translations
from topup.orders.models import Order
from topup.orders.tasks import run_due
from topup.runtime import Runtime

RECIPIENT = "+2348031234567"  # MTN Nigeria, a number the supplier simulator tops up at once
RECIPIENT_LOCAL = "08031234567"
RECIPIENT_SHOWN = "+234 803 123 4567"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
BAD_CARD = "4242 4242 4242 4241"  # fails the Luhn check
NEXT_YEAR = str(clock.now().year + 1)
SESSION_COOKIE = "topup_session"
CSRF_COOKIE = "topup_csrf"
LANGUAGE_COOKIE = "topup_lang"
FINAL = {"succeeded", "failed", "declined", "rejected"}
ORDER_PATH = re.compile(r"^/orders/(ord_[0-9a-f]{32})$")
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


# ---- reading pages --------------------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Page(HTMLParser):
    """Every element with an id (and its text), and every form with what it would send."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: dict[str, Element] = {}
        self.forms: list[Form] = []
        self.tags: list[Element] = []
        self._open: list[tuple[Element, int]] = []
        self._depth = 0
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        element = Element(tag, values)
        self.tags.append(element)
        if "id" in values:
            assert values["id"] not in self.elements, f"two elements with id {values['id']}"
            self.elements[values["id"]] = element
        self._form_part(tag, values)
        if tag in _VOID:
            return
        self._depth += 1
        self._open.append((element, self._depth))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if tag == "form":
            self._form = None
        elif tag == "select" and self._form is not None and self._select is not None:
            self._form.fields[self._select] = self._select_value or ""
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        self._open = [(element, depth) for element, depth in self._open if depth < self._depth]
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        for element, _ in self._open:
            element.parts.append(data)
        if self._form is not None and self._textarea is not None:
            self._form.fields[self._textarea] += data

    def _form_part(self, tag: str, values: dict[str, str]) -> None:
        if tag == "form":
            self._form = Form(values.get("action", ""), values.get("method", "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = values.get("name")
        if tag == "input" and name:
            kind = values.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in values:
                    self._form.fields[name] = values.get("value", "on")
            elif kind not in {"submit", "button", "reset", "file", "image"}:
                self._form.fields[name] = values.get("value", "")
        elif tag == "select" and name:
            self._select, self._select_value = name, None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in values:
                self._select_value = values.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self._form.fields[name] = ""


def read(html: str) -> _Page:
    parser = _Page()
    parser.feed(html)
    parser.close()
    return parser


def element(html: str, element_id: str) -> Element:
    found = read(html).elements.get(element_id)
    assert found is not None, f"no element #{element_id} on the page"
    return found


def has_element(html: str, element_id: str) -> bool:
    return element_id in read(html).elements


def form_on(html: str, action: str) -> Form:
    forms = [form for form in read(html).forms if form.action == action]
    assert len(forms) == 1, f"{len(forms)} forms post to {action}"
    return forms[0]


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def assert_field_error(html: str, name: str, text: str | None = None) -> None:
    """The field is marked invalid and described by its error, which says ``text``."""
    control = element(html, name)
    error = element(html, f"{name}-error")
    assert control.attrs.get("aria-invalid") == "true", control
    assert f"{name}-error" in control.attrs.get("aria-describedby", "").split(), control
    assert error.text, "the error is empty"
    if text is not None:
        assert text in error.text, error.text


def translated(language: str, sentence: str) -> str:
    """The sentence in ``language``, from the catalogue the pages are rendered with: a page
    that shows it was rendered in that language (and the catalogue has the sentence)."""
    text: str = translations(language).gettext(sentence)
    assert text != sentence, f"the {language} catalogue has no translation of {sentence!r} yet"
    return text


def lang_of(html: str) -> str:
    found = re.search(r'<html lang="([a-z]{2})">', html)
    assert found is not None, "no <html lang>"
    return found.group(1)


# ---- sending forms --------------------------------------------------------------------------


async def submit(
    client: httpx.AsyncClient, html: str, action: str, **typed: str | None
) -> httpx.Response:
    """Send the form of ``html`` that goes to ``action``: what it holds, changed by ``typed``
    (``None`` leaves a field out, as an unticked box is)."""
    form = form_on(html, action)
    fields = dict(form.fields)
    for name, value in typed.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    if form.method == "get":
        return await client.get(action, params=fields)
    return await client.post(action, data=fields)


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:2000])
    return response.headers["location"]


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def order_id_from(response: httpx.Response) -> str:
    found = ORDER_PATH.match(location(response))
    assert found is not None, response.headers["location"]
    return found.group(1)


def set_cookie(response: httpx.Response, name: str) -> str | None:
    """The Set-Cookie header of the answer for ``name``, if it sets one."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    return None


def cookie_attributes(header: str) -> set[str]:
    """``{"httponly", "samesite=lax", "path=/", ...}`` of a Set-Cookie header."""
    return {part.strip().lower() for part in header.split(";")[1:]}


def session_token(client: httpx.AsyncClient) -> str:
    token = client.cookies.get(SESSION_COOKIE)
    assert token, "the browser is not logged in"
    return token


def use_session(client: httpx.AsyncClient, token: str) -> None:
    """Put a session cookie back, as someone replaying a stolen or old one would."""
    client.cookies.set(SESSION_COOKIE, token, domain="topup.test", path="/")


# ---- journeys -------------------------------------------------------------------------------


async def sign_up(client: httpx.AsyncClient, person: Person, next_path: str = "/") -> str:
    """Fill in the sign-up page; returns where it sends the browser (the code page)."""
    form = await client.get("/signup", params={"next": next_path})
    assert form.status_code == 200, form.text
    sent = await submit(client, form.text, "/signup", **person.body())
    target = location(sent)
    assert target.startswith("/verify?"), target
    return target


async def sign_up_and_verify(
    client: httpx.AsyncClient, person: Person | None = None, next_path: str = "/"
) -> Person:
    """Sign up through the pages and type the SMS code: the browser ends up logged in."""
    person = person or new_person()
    verify_page = await client.get(await sign_up(client, person, next_path))
    assert verify_page.status_code == 200, verify_page.text
    code = await sms_code(client, person.phone)
    verified = await submit(client, verify_page.text, "/verify", code=code)
    assert location(verified) == next_path
    assert client.cookies.get(SESSION_COOKIE)
    return person


async def log_in(
    client: httpx.AsyncClient, login: str, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    """Fill in the login page; returns the answer to the form."""
    form = await client.get("/login", params={"next": next_path})
    assert form.status_code == 200, form.text
    return await submit(client, form.text, "/login", login=login, password=password)


async def customer_of(client: httpx.AsyncClient) -> dict[str, object]:
    """The logged-in customer, through the API: the page's cookie holds an access token."""
    response = await client.get("/v1/me", headers=bearer(session_token(client)))
    assert response.status_code == 200, response.text
    customer: dict[str, object] = response.json()["customer"]
    return customer


def card_fields(
    number: str = GOOD_CARD, *, cvc: str = "123", save: bool = False
) -> dict[str, str | None]:
    return {
        "card_id": "new",
        "card_number": number,
        "exp_month": "12",
        "exp_year": NEXT_YEAR,
        "cvc": cvc,
        "save_card": "yes" if save else None,
    }


async def review_page(
    client: httpx.AsyncClient, phone: str = RECIPIENT, product_id: str = "ng-mtn-2500"
) -> httpx.Response:
    response = await client.get("/topup/review", params={"phone": phone, "product_id": product_id})
    assert response.status_code == 200, response.text
    return response


async def pay(
    client: httpx.AsyncClient,
    phone: str = RECIPIENT,
    product_id: str = "ng-mtn-2500",
    **typed: str | None,
) -> httpx.Response:
    """Open the review page for the number and pay with a new card, the number confirmed."""
    review = await review_page(client, phone, product_id)
    fields = card_fields() | {"confirm_number": "yes"} | typed
    return await submit(client, review.text, "/topup/pay", **fields)


def status_on(html: str) -> str:
    box = element(html, "order-status")
    statuses = [name for name in box.attrs["class"].split() if name.startswith("status-")]
    assert len(statuses) == 1, box.attrs
    return statuses[0].removeprefix("status-")


async def settled(client: httpx.AsyncClient, runtime: Runtime, order_id: str) -> str:
    """The order's status once it ends, as its page shows it. The fast path (run after the
    payment form) normally ends it; otherwise worker rounds move it on, a minute apart."""
    status = ""
    for _ in range(10):
        fragment = await client.get(f"/orders/{order_id}/status")
        assert fragment.status_code == 200, fragment.text
        status = status_on(fragment.text)
        if status in FINAL:
            return status
        await run_due(runtime.order_deps())
        clock.advance(61)
    raise AssertionError(f"{order_id} is still {status}")


async def orders_of(runtime: Runtime, customer_id: str) -> list[str]:
    async with runtime.session_factory() as session:
        rows = await session.scalars(
            select(Order.id).where(Order.customer_id == customer_id).order_by(Order.created_at)
        )
        return list(rows)


async def count_orders(runtime: Runtime) -> int:
    async with runtime.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


async def fields_of(client: httpx.AsyncClient, path: str, action: str) -> Mapping[str, str]:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return form_on(page.text, action).fields
