"""What every storefront page shares: the visitor, their language, cookies, CSRF and rendering.

The pages are for people in a browser; the API is for programs. Both call the same
services. A page keeps its login in an HttpOnly cookie that holds an ordinary access
token (the same rows as the API's bearer tokens, so logging out or resetting a password
ends both), and every form that changes something carries a CSRF token.

CSRF is the signed double-submit pattern: a random value in an HttpOnly cookie,
and in each form an HMAC of that value under the server's secret. A page on another site
can neither read the cookie nor compute the HMAC, so it cannot forge the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from topup.accounts.models import Customer
from topup.accounts.sessions import authenticate
from topup.config import Environment
from topup.kit.errors import AppError, Forbidden, Unauthorized
from topup.kit.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from topup.kit.nulchars import nul_field, refusal
from topup.runtime import Runtime
from topup.storefront.rendering import render_page

LANGUAGE_COOKIE = "topup_lang"
CSRF_FIELD = "csrf_token"
ONE_YEAR = 365 * 24 * 3600
# Pages may load only their own scripts, styles and images; no one may frame them, and
# forms may post only back here.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    # Same-origin, not no-referrer: browsers send "Origin: null" on a form post from a
    # no-referrer page, which would blind the Origin check below.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show personal data and one-time form tokens
}


def secure_cookies(runtime: Runtime) -> bool:
    """Cookies only over HTTPS: in production, and wherever the site is served over HTTPS.
    A staging or sandbox site on https:// holds real logins too; only plain-HTTP
    development, where a browser would drop a Secure cookie, goes without."""
    settings = runtime.settings
    return settings.env is Environment.production or settings.public_url.startswith("https://")


def session_cookie_name(runtime: Runtime) -> str:
    # "__Host-" makes the browser refuse the cookie unless it is Secure, host-only and for
    # "/": no sibling subdomain can plant or shadow it. Plain HTTP in development can't.
    return "__Host-topup_session" if secure_cookies(runtime) else "topup_session"


def csrf_cookie_name(runtime: Runtime) -> str:
    return "__Host-topup_csrf" if secure_cookies(runtime) else "topup_csrf"


@dataclass
class Visitor:
    """Who is looking at the page, in which language, and the form token for them."""

    request: Request
    runtime: Runtime
    language: str
    customer: Customer | None
    token_id: str | None
    csrf_seed: str
    new_csrf_seed: bool
    cookies_to_clear: list[str] = field(default_factory=list)

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.runtime.settings.secret_key, self.csrf_seed)

    @property
    def client_ip(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    def require_customer(self) -> Customer:
        if self.customer is None:
            raise Unauthorized("Log in to continue.", code="unauthorized")
        return self.customer


def csrf_token_for(secret: str, seed: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()


async def visitor(request: Request) -> Visitor:
    runtime: Runtime = request.app.state.runtime
    customer, token_id, expired = await _logged_in(request, runtime)
    seed = request.cookies.get(csrf_cookie_name(runtime), "")
    fresh_seed = len(seed) != 43  # token_urlsafe(32) is 43 characters; anything else is new
    person = Visitor(
        request=request,
        runtime=runtime,
        language=_language(request, customer),
        customer=customer,
        token_id=token_id,
        csrf_seed=secrets.token_urlsafe(32) if fresh_seed else seed,
        new_csrf_seed=fresh_seed,
    )
    if expired:
        person.cookies_to_clear.append(session_cookie_name(runtime))
    return person


VisitorDep = Annotated[Visitor, Depends(visitor)]


def refuse_nul(request: Request) -> None:
    """Every page's first dependency: a field :class:`topup.kit.nulchars.RefuseNul` found
    holding a NUL is refused here, before the page or its visitor reads the database, and
    the refusal is shown as the storefront shows any other."""
    field_name = nul_field(request.scope)
    if field_name is not None:
        raise refusal(field_name)


async def _logged_in(
    request: Request, runtime: Runtime
) -> tuple[Customer | None, str | None, bool]:
    token = request.cookies.get(session_cookie_name(runtime))
    if not token:
        return None, None, False
    async with runtime.session_factory() as session:
        try:
            authenticated = await authenticate(session, token)
        except Unauthorized:
            return None, None, True  # expired or revoked: the cookie goes
    return authenticated.customer, authenticated.token_id, False


def _language(request: Request, customer: Customer | None) -> str:
    """The visitor's own choice, else their account's, else what the browser prefers."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in SUPPORTED_LANGUAGES:
        return chosen
    if customer is not None and customer.language in SUPPORTED_LANGUAGES:
        return customer.language
    return preferred_language(request.headers.get("accept-language", ""))


def preferred_language(header: str) -> str:
    """The supported language the Accept-Language header ranks highest."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, parameters = part.strip().partition(";")
        weight = 1.0
        if parameters.strip().startswith("q="):
            try:
                weight = float(parameters.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().split("-")[0].lower()
        if language in SUPPORTED_LANGUAGES and weight > 0:
            ranked.append((-weight, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


async def checked_form(person: Visitor) -> dict[str, str]:
    """The posted form, after the CSRF and Origin checks; every value a plain string."""
    request = person.request
    origin = request.headers.get("origin")
    if origin and origin != "null" and not _same_origin(origin, request):
        raise Forbidden("This form was sent from another site.", code="csrf_failed")
    form = await request.form()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    sent = fields.pop(CSRF_FIELD, "")
    if person.new_csrf_seed or not hmac.compare_digest(sent, person.csrf_token):
        raise Forbidden(
            "This form has expired; reload the page and send it again.", code="csrf_failed"
        )
    return fields


def _same_origin(origin: str, request: Request) -> bool:
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme in {"http", "https"}


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never "//evil.example" or "https://…" (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(character) < 32 for character in target):
        return default
    return target


class FormValues(dict[str, str]):
    """What a form showed or was sent: a field never filled in reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def page(person: Visitor, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    if isinstance(context.get("form"), dict):
        context["form"] = FormValues(context["form"])
    html = render_page(
        person.language,
        template,
        visitor=person,
        customer=person.customer,
        csrf_token=person.csrf_token,
        path=person.request.url.path,
        full_path=full_path(person.request),
        sandbox=person.runtime.settings.is_sandbox,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
    finish(person, response)
    return response


def full_path(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def redirect(person: Visitor, target: str) -> Response:
    response: Response = RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)
    if person.request.headers.get("hx-request") == "true":
        # htmx would follow a 303 inside its XMLHttpRequest and paint the page into a
        # fragment; this asks it to load the new page whole instead.
        response = Response(status_code=200, headers={**PAGE_HEADERS, "HX-Redirect": target})
    finish(person, response)
    return response


def finish(person: Visitor, response: Response) -> None:
    """The cookies every answer may need to set or clear."""
    secure = secure_cookies(person.runtime)
    if person.new_csrf_seed:
        response.set_cookie(
            csrf_cookie_name(person.runtime),
            person.csrf_seed,
            max_age=ONE_YEAR,
            httponly=True,
            secure=secure,
            # Lax: a Strict cookie is withheld when someone arrives from a link in an
            # email, and replacing it then would expire the forms open in other tabs.
            samesite="lax",
        )
    for name in person.cookies_to_clear:
        response.delete_cookie(name, secure=secure, httponly=True, samesite="lax")


def start_session(person: Visitor, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        session_cookie_name(person.runtime),
        token,
        max_age=max_age,
        httponly=True,
        secure=secure_cookies(person.runtime),
        # Lax, not Strict: a link from an email to "My purchases" should find the person
        # logged in. Lax still keeps the cookie off cross-site form posts.
        samesite="lax",
    )


def end_session(person: Visitor) -> None:
    person.cookies_to_clear.append(session_cookie_name(person.runtime))


def field_errors(error: AppError, names: dict[str, str] | None = None) -> dict[str, AppError]:
    """The error keyed by the form field it concerns (``names`` maps API fields to form
    fields); an error about no field in particular is keyed ``""`` and shown on top."""
    field_name = error.field or ""
    for api_name, form_name in (names or {}).items():
        if field_name == api_name or field_name.startswith(f"{api_name}."):
            field_name = form_name
            break
    return {field_name: error}
