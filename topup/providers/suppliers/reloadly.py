"""Reloadly's Airtime API as a ``TopupSupplier`` (``TOPUP_SUPPLIER=reloadly``).

What Reloadly documents, and what this adapter relies on:

- an OAuth2 client-credentials token from ``POST {auth}/oauth/token`` (``client_id``,
  ``client_secret``, ``grant_type``, ``audience`` = the Airtime API's base), valid for
  ``expires_in`` seconds; a call with an expired one gets 401 ``TOKEN_EXPIRED``;
- ``POST /topups`` with ``operatorId``, ``amount``, ``useLocalAmount``, ``recipientPhone``
  and our ``customIdentifier``, which Reloadly keeps unique: "once a reference has been
  used for a top-up transaction, it cannot be reused", so a retried send never delivers
  twice. It answers the transaction with its ``status``;
- a webhook ``airtime_transaction.status`` when an asynchronous top-up finishes, signed in
  ``X-Reloadly-Signature`` (hex HMAC-SHA256 of ``<body>:<X-Reloadly-Request-Timestamp>``
  under the webhook secret from the dashboard);
- ``GET /promotions`` pages through the operators' promotions (read in
  ``reloadly_promotions``);
- ``GET /topups/reports/transactions?customIdentifier=…`` finds a transaction by our
  reference, and ``GET /topups/{transactionId}/status`` gives its status in real time:
  ``SUCCESSFUL``, ``PROCESSING``, ``FAILED`` (not debited) or ``REFUNDED`` (debited and
  given back);
- a PIN-based operator's transaction carries ``pinDetail`` (``code``, ``serial``,
  ``info1``–``info3``: how to use it, ``ivr``: the number to call, ``value``,
  ``validity``). Reloadly sells PIN products under operator ids of their own, so the
  operator map names one per PIN product type (``"ng-mtn:voucher"``); without it a PIN
  product is unmapped (never sent to the plain ``"ng-mtn"``, which is airtime).
  Reloadly reports no calling-card balance: ``card_balance`` is always unavailable, and
  a calling card's refund then waits for support (``remaining_balance_unknown``). Nor does
  it document closing a card: ``close_card`` is always unavailable as well, and neither
  ending a monthly plan's bundle: ``end_plan`` is always unavailable.

The mapping follows DESIGN §5: an outcome we cannot read for certain (a timeout, a reset
connection, a 5xx, a body that does not parse or has the wrong shape, an answer about
another reference, an error code we do not know) raises ``SupplierUnavailable`` and the
status poll decides. Only ``FAILED``/``REFUNDED``, or a 4xx whose code proves the request
itself was refused (and no transaction exists under our reference), is a failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import phonenumbers
import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from topup.catalogue.models import PIN_PRODUCT_TYPES
from topup.kit import clock
from topup.kit.money import minor_unit
from topup.providers.suppliers.base import (
    CardBalance,
    PinDelivery,
    SupplierPromotion,
    SupplierUnavailable,
    TopupRequest,
    TopupResult,
    TopupStatus,
)
from topup.providers.suppliers.reloadly_promotions import (
    MAX_PAGES,
    PAGE_SIZE,
    PromotionPage,
    read_promotions,
)

log = structlog.get_logger(__name__)

ACCEPT = "application/com.reloadly.topups-v1+json"
STATUSES = {
    "SUCCESSFUL": TopupStatus.succeeded,
    "PROCESSING": TopupStatus.pending,
    "FAILED": TopupStatus.failed,
    "REFUNDED": TopupStatus.failed,
}
FAILURE_CODES = {"FAILED": "operator_failed", "REFUNDED": "operator_refunded"}
# Reloadly's documented error codes that refuse the request itself, whatever was sent
# before under the same reference (an earlier send of the same body is refused alike).
# Codes that depend on state a first, still unseen send may have changed (the balance,
# daily limits, "phone recently recharged", a duplicate reference) are left out on
# purpose: those outcomes stay unknown and the status poll decides.
REFUSED_BEFORE_DELIVERY = {
    "COUNTRY_NOT_SUPPORTED": "country_not_supported",
    "OPERATOR_UNAVAILABLE_OR_CURRENTLY_INACTIVE": "operator_unavailable",
    "OPERATOR_NOT_IN_SERVICE": "operator_unavailable",
    "COULD_NOT_AUTO_DETECT_OPERATOR": "operator_unknown",
    "INVALID_AMOUNT_FOR_OPERATOR": "invalid_amount",
    "INVALID_AMOUNT": "invalid_amount",
    "INVALID_RECIPIENT_PHONE": "invalid_recipient_phone",
    "INVALID_PHONE_NUMBER": "invalid_recipient_phone",
}
OPERATOR_NOT_MAPPED = "operator_not_mapped"
Model = TypeVar("Model", bound=BaseModel)
# A token is renewed this long before Reloadly says it expires, so no call carries one that
# runs out on the way.
TOKEN_MARGIN = timedelta(seconds=60)


class _PinDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    # Reloadly's examples give the code and serial as numbers or as strings: both are read.
    # Every field may be missing: a delivered top-up whose PIN detail is incomplete is still
    # delivered (the order succeeds and support is told), never an unreadable answer that
    # would leave the order pending until its hold expired. Out of the repr: a model
    # printed in a traceback must not carry the PIN.
    code: str | int | None = Field(default=None, repr=False)
    serial: str | int | None = Field(default=None, repr=False)
    info1: str | None = None
    ivr: str | None = None


class _Transaction(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    transaction_id: int = Field(alias="transactionId")
    status: str
    custom_identifier: str | None = Field(default=None, alias="customIdentifier")
    pin_detail: _PinDetail | None = Field(default=None, alias="pinDetail")


class _Report(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    content: list[_Transaction]


class _StatusAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    status: str
    transaction: _Transaction


class _Token(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    access_token: str = Field(min_length=1)
    expires_in: int = Field(gt=0)


@dataclass(frozen=True)
class ReloadlyCredentials:
    client_id: str
    client_secret: SecretStr
    auth_url: str
    api_url: str
    audience: str


class ReloadlySupplier:
    def __init__(
        self,
        credentials: ReloadlyCredentials,
        *,
        operator_ids: dict[str, int],
        timeout_seconds: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._credentials = credentials
        self._operator_ids = operator_ids
        self._client = client or httpx.AsyncClient(timeout=timeout_seconds)
        self._token: tuple[str, datetime] | None = None
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        await self._client.aclose()

    # ---- the port -------------------------------------------------------------------------

    async def send_topup(self, request: TopupRequest) -> TopupResult:
        operator_id = self._reloadly_operator(request)
        if operator_id is None:  # nothing was sent, so nothing can have been delivered
            return TopupResult(TopupStatus.failed, failure_code=OPERATOR_NOT_MAPPED)
        response = await self._call("POST", "/topups", json=_topup_body(request, operator_id))
        if response.is_success:
            return _result(_parse(_Transaction, response), request.reference)
        # A refusal may hide a first send that did go through (Reloadly refuses a reused
        # customIdentifier): what Reloadly holds under our reference comes first.
        existing = await self.status(request.reference)
        if existing.status is not TopupStatus.not_found:
            return existing
        code = _error_code(response)
        if code in REFUSED_BEFORE_DELIVERY:
            return TopupResult(TopupStatus.failed, failure_code=REFUSED_BEFORE_DELIVERY[code])
        raise SupplierUnavailable(f"reloadly refused the top-up with {response.status_code} {code}")

    def _reloadly_operator(self, request: TopupRequest) -> int | None:
        """Reloadly's operator id for the request; None when the map has none. A PIN
        product has only its typed entry (``"ng-mtn:voucher"``): the plain one is the
        operator's airtime, and sending a voucher there would credit airtime and return
        no PIN, so a missing typed entry is unmapped, never the airtime id."""
        if request.product_type in PIN_PRODUCT_TYPES:
            return self._operator_ids.get(f"{request.operator_id}:{request.product_type}")
        return self._operator_ids.get(request.operator_id)

    async def status(self, reference: str) -> TopupResult:
        found = await self._call(
            "GET", "/topups/reports/transactions", params={"customIdentifier": reference}
        )
        if not found.is_success:
            raise SupplierUnavailable(f"reloadly's report answered {found.status_code}")
        report = _parse(_Report, found)
        matching = [item for item in report.content if item.custom_identifier == reference]
        if len(matching) != len(report.content):
            raise SupplierUnavailable("reloadly's report names another reference")
        if not matching:
            return TopupResult(TopupStatus.not_found)
        if len(matching) > 1:
            raise SupplierUnavailable("reloadly holds two transactions under one reference")
        transaction_id = matching[0].transaction_id
        live = await self._call("GET", f"/topups/{transaction_id}/status")
        if not live.is_success:
            raise SupplierUnavailable(f"reloadly's status answered {live.status_code}")
        answer = _parse(_StatusAnswer, live)
        if answer.transaction.transaction_id != transaction_id:
            raise SupplierUnavailable("reloadly's status names another transaction")
        return _result(answer.transaction, reference, status=answer.status)

    async def promotions(self, operator_ids: Collection[str]) -> list[SupplierPromotion]:
        """The promotions of our mapped operators among ``operator_ids``, every page read:
        an answer cut short raises, since a sync reads a missing promotion as withdrawn."""
        ours = {
            reloadly_id: our_id
            for our_id, reloadly_id in self._operator_ids.items()
            if our_id in operator_ids
        }
        if not ours:
            return []
        found: list[SupplierPromotion] = []
        for page in range(1, MAX_PAGES + 1):
            params = {"page": page, "size": PAGE_SIZE}
            response = await self._call("GET", "/promotions", params=params)
            if not response.is_success:
                raise SupplierUnavailable(f"reloadly's promotions answered {response.status_code}")
            batch = _parse(PromotionPage, response)
            found.extend(read_promotions(batch.content, ours))
            if batch.is_last(page):
                return found
        raise SupplierUnavailable(f"reloadly's promotions run past {MAX_PAGES} pages")

    async def card_balance(self, reference: str) -> CardBalance:
        raise SupplierUnavailable("reloadly reports no calling-card balances")

    async def close_card(self, reference: str) -> CardBalance:
        # Reloadly documents no call that closes a delivered card: a refund of one goes to
        # support (its balance is unknown too, so it is refused online before this).
        raise SupplierUnavailable("reloadly documents no way to close a calling card")

    async def end_plan(self, reference: str) -> datetime:
        # Reloadly documents no call that stops a delivered bundle: the plan's end is never
        # confirmed, so its refund is refused online (service_end_unconfirmed) and goes to
        # support, who end it with the operator.
        raise SupplierUnavailable("reloadly documents no way to end a plan's bundle")

    # ---- HTTP -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, **options: Any) -> httpx.Response:
        """One authenticated call. A 401 renews the token and tries once more: Reloadly
        refuses an expired token before it looks at the request, so the retry is safe."""
        for attempt in range(2):
            token = await self._access_token(renew=attempt > 0)
            headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
            response = await self._send(method, self._credentials.api_url + path, headers, options)
            if response.status_code != 401:
                return response
        raise SupplierUnavailable("reloadly refused a freshly issued token")

    async def _send(
        self, method: str, url: str, headers: dict[str, str], options: dict[str, Any]
    ) -> httpx.Response:
        try:
            response = await self._client.request(method, url, headers=headers, **options)
        except httpx.HTTPError as error:  # timeouts, resets, refused connections
            raise SupplierUnavailable(f"reloadly did not answer: {type(error).__name__}") from error
        if response.status_code >= 500:
            raise SupplierUnavailable(f"reloadly answered {response.status_code}")
        return response

    async def _access_token(self, *, renew: bool) -> str:
        async with self._token_lock:
            if self._token is not None and not renew and clock.now() < self._token[1]:
                return self._token[0]
            credentials = self._credentials
            body = {
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret.get_secret_value(),
                "grant_type": "client_credentials",
                "audience": credentials.audience,
            }
            response = await self._send(
                "POST", credentials.auth_url + "/oauth/token", {}, {"json": body}
            )
            if not response.is_success:
                log.warning("reloadly_token_refused", status=response.status_code)
                raise SupplierUnavailable(f"reloadly's token answered {response.status_code}")
            token = _parse(_Token, response)
            expires = clock.now() + timedelta(seconds=token.expires_in) - TOKEN_MARGIN
            self._token = (token.access_token, expires)
            return token.access_token


def _topup_body(request: TopupRequest, operator_id: int) -> dict[str, Any]:
    number = phonenumbers.parse(request.e164)
    amount = Decimal(request.amount) * minor_unit(request.currency)
    return {
        "operatorId": operator_id,
        "amount": str(amount),
        "useLocalAmount": True,  # our products are priced in the operator's currency
        "customIdentifier": request.reference,
        "recipientPhone": {
            "countryCode": phonenumbers.region_code_for_number(number),
            "number": str(number.national_number),
        },
    }


def _parse(model: type[Model], response: httpx.Response) -> Model:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        # Only where it failed, never the values: an answer may hold a PIN, and pydantic's
        # own message quotes the input.
        where = sorted({".".join(map(str, problem["loc"])) for problem in error.errors()})
        raise SupplierUnavailable(
            f"reloadly's answer did not parse as {model.__name__} at {where}"
        ) from None


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("errorCode") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _result(transaction: _Transaction, reference: str, *, status: str | None = None) -> TopupResult:
    if transaction.custom_identifier != reference:
        raise SupplierUnavailable("reloadly answered about another reference")
    reported = status or transaction.status
    if reported != transaction.status or reported not in STATUSES:
        raise SupplierUnavailable(f"reloadly reported an unreadable status {reported!r}")
    status = STATUSES[reported]
    detail = transaction.pin_detail if status is TopupStatus.succeeded else None
    pin = (
        PinDelivery(
            code=str(detail.code),
            serial=str(detail.serial) if detail.serial is not None else "",
            instructions=detail.info1,
            access_number=detail.ivr,
        )
        if detail is not None and detail.code is not None
        else None
    )
    return TopupResult(status, str(transaction.transaction_id), FAILURE_CODES.get(reported), pin)


WEBHOOK_EVENT = "airtime_transaction.status"


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    type: str
    data: _Transaction


@dataclass(frozen=True)
class WebhookReport:
    """What a verified callback says. It is a hint, never proof: the order only becomes
    due for a status check, and the status call (authenticated by us) decides."""

    reference: str
    status: TopupStatus


class WebhookRefused(Exception):
    """The callback is not signed with our webhook secret."""


def read_webhook(
    body: bytes, signature: str | None, timestamp: str | None, secret: SecretStr
) -> WebhookReport | None:
    """The report in a signed callback; None for an event that is not a top-up's status.
    The timestamp's age is not checked: Reloadly retries a delivery for hours, and a
    replay can do no harm when the body only ever triggers a status check."""
    if not signature or not timestamp:
        raise WebhookRefused("the callback carries no signature")
    signed = body + b":" + timestamp.encode()
    expected = hmac.new(secret.get_secret_value().encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise WebhookRefused("the callback's signature does not match")
    try:
        event = _Event.model_validate_json(body)
    except ValidationError:
        return None
    reference = event.data.custom_identifier
    if event.type != WEBHOOK_EVENT or reference is None or event.data.status not in STATUSES:
        return None
    return WebhookReport(reference, STATUSES[event.data.status])
