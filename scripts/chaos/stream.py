"""The customers and their stream of orders, driven over HTTP as real clients do: every
simulator outcome, every sandbox card, some top-ups paid from the wallet and some wallet
fundings. A client whose connection drops (the API was killed), or that is told to come
back (503, or 409 with the key still in use), sends the same request with the same
Idempotency-Key again: after the Retry-After the answer gave, or with a growing backoff
when there was no answer at all."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scripts.bench.accounts import visa_number
from tests.fixtures.services import topup

PASSWORD = "chaos horse battery staple"
CODE = re.compile(r"\b(\d{6})\b")
# DESIGN §6: the test cards that are charged, declined, blocked as fraud, or refused.
MASTERCARD = "5555555555554444"
DECLINES = ("4000000000000002", "4000000000009995", "4000000000000069", "4100000000000019")
AMEX = "378282246310005"
# The simulator's outcome is the number's last four digits; 0009 is refused before payment.
OUTCOMES = {"ok": 30, "0001": 10, "0002": 10, "0003": 10, "0004": 8, "0005": 10, "0009": 4}
HOT_NUMBER = "+2348039990000"  # one number many buy for: its daily limit rejects some
# How an order is paid, with its weight: the customer's own Visa, the shared Mastercard,
# each declining card, the refused Amex, the wallet.
PAYMENT_KINDS = {"visa": 45, "mastercard": 10, "amex": 4, "wallet": 21}
PAYMENT_KINDS |= {f"decline-{number[-4:]}": 5 for number in DECLINES}
CARDS = {"mastercard": MASTERCARD, "amex": AMEX} | {
    f"decline-{number[-4:]}": number for number in DECLINES
}
PRODUCTS = {"ng-mtn-2500": 50, "ng-mtn-10000": 25, "ng-mtn-20000": 15, "ng-mtn-100000": 10}
RETRYABLE_CODES = {"idempotency_key_in_use", "service_unavailable"}
MAX_RETRY_AFTER = 5.0  # a client's patience for one wait


@dataclass(frozen=True)
class Customer:
    index: int
    phone: str
    headers: dict[str, str]

    @property
    def card(self) -> str:
        return visa_number(1000 + self.index)  # its own card, charged like 4242…


@dataclass(frozen=True)
class Operation:
    customer: Customer
    path: str
    body: dict[str, Any]
    key: str
    label: str


@dataclass
class StreamRecord:
    answers: Counter[str] = field(default_factory=Counter)  # "201", "402 card_declined", …
    exercised: Counter[str] = field(default_factory=Counter)  # outcome × payment asked
    retries: Counter[str] = field(default_factory=Counter)  # by what asked for the retry
    gave_up: int = 0
    order_ids: set[str] = field(default_factory=set)
    tasks: list[asyncio.Task[httpx.Response | None]] = field(default_factory=list)


def card_payment(number: str) -> dict[str, Any]:
    return {"card": {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123"}}


async def sign_up(http: httpx.AsyncClient, index: int) -> Customer:
    """The README's sandbox journey: sign-up, the code from the outbox, verify, log in."""
    phone = f"+336123{index:05d}"
    email = f"chaos{index}@example.com"
    person = {"first_name": "Ada", "last_name": f"Chaos {index}", "phone": phone}
    answer = await http.post(
        "/v1/auth/signup", json=person | {"email": email, "password": PASSWORD}
    )
    answer.raise_for_status()
    messages = (await http.get("/v1/sandbox/messages", params={"to": phone})).json()["data"]
    match = CODE.search(messages[0]["body"])
    assert match is not None, messages
    verified = await http.post("/v1/auth/verify-phone", json={"phone": phone, "code": match[1]})
    verified.raise_for_status()
    login = await http.post("/v1/auth/login", json={"login": email, "password": PASSWORD})
    login.raise_for_status()
    return Customer(index, phone, {"Authorization": f"Bearer {login.json()['access_token']}"})


async def staff_log_in(http: httpx.AsyncClient, database_url: str, directory: Path) -> Customer:
    """A support user as ``topup admin create`` makes one, logged in."""
    email, phone = "support@example.com", "+33612399999"
    command = ["admin", "create", "--email", email, "--phone", phone, "--role", "support"]
    command += ["--first-name", "Sam", "--last-name", "Support", "--password", PASSWORD]
    await asyncio.to_thread(topup, command, database_url, directory)
    login = await http.post("/v1/auth/login", json={"login": email, "password": PASSWORD})
    login.raise_for_status()
    return Customer(-1, phone, {"Authorization": f"Bearer {login.json()['access_token']}"})


class Planner:
    """Draws operations: first one of each simulator outcome and each kind of payment
    (so even a short run covers them all), then at random, with distinct recipient
    numbers per outcome."""

    def __init__(self, rng: random.Random, customers: list[Customer]) -> None:
        self.rng = rng
        self.customers = customers
        self.count = 0
        self._coverage = [("funding", "visa")]
        self._coverage += [(outcome, "visa") for outcome in OUTCOMES]
        self._coverage += [("ok", paid_with) for paid_with in PAYMENT_KINDS if paid_with != "visa"]

    def next(self) -> Operation:
        if self._coverage:
            outcome, paid_with = self._coverage.pop(0)
        else:
            outcome = "funding" if self.rng.random() < 0.06 else self._pick(OUTCOMES)
            paid_with = self._pick(PAYMENT_KINDS)
        return self.operation(outcome, paid_with)

    def operation(self, outcome: str, paid_with: str, *, product: str | None = None) -> Operation:
        """One operation: a wallet funding (``outcome`` "funding") or an order for a number
        with that simulator outcome, paid that way."""
        self.count += 1
        customer = self.rng.choice(self.customers)
        key = f"chaos-{self.count}"
        if outcome == "funding":
            funding = {
                "amount": {"amount": 3000, "currency": "EUR"},
                "payment": card_payment(customer.card),
            }
            return Operation(customer, "/v1/wallet/fund", funding, key, "funding")
        body: dict[str, Any] = {
            "recipient_phone": self._number(outcome),
            "product_id": product or self._pick(PRODUCTS),
            "payment": self._payment(customer, paid_with),
            "confirm_duplicate": True,
        }
        return Operation(customer, "/v1/orders", body, key, f"{outcome}/{paid_with}")

    def _pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _number(self, outcome: str) -> str:
        if outcome == "ok":
            if self.rng.random() < 0.2:
                return HOT_NUMBER
            return f"+234803{self.count % 1000:03d}{self.rng.randint(2000, 9999)}"
        return f"+234803{self.count % 1000:03d}{outcome}"

    def _payment(self, customer: Customer, paid_with: str) -> dict[str, Any]:
        if paid_with == "wallet":
            return {"wallet": True}
        if paid_with == "visa":
            return card_payment(customer.card)
        return card_payment(CARDS[paid_with])


async def perform(
    http: httpx.AsyncClient, operation: Operation, record: StreamRecord, budget_seconds: float
) -> httpx.Response | None:
    """Send until a definite answer, with the same key each time, within the budget;
    returns that answer (None when the budget ran out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_seconds
    headers = operation.customer.headers | {"Idempotency-Key": operation.key}
    record.exercised[operation.label] += 1
    attempts = 0
    while True:
        answer = await _attempt(http, operation, headers)
        if answer is not None and not _retryable(answer):
            _note(record, operation, answer)
            return answer
        if loop.time() > deadline:
            record.gave_up += 1
            return None
        record.retries[_answer_label(answer) if answer is not None else "no answer"] += 1
        attempts += 1
        await asyncio.sleep(retry_delay(answer, attempts))


def retry_delay(answer: httpx.Response | None, attempts: int) -> float:
    """What the answer's Retry-After asks for; with no answer (the connection dropped, or
    the API is starting), 0.5, 1, 2, 2, … seconds."""
    if answer is not None:
        with contextlib.suppress(ValueError):
            return min(float(str(answer.headers.get("Retry-After", ""))), MAX_RETRY_AFTER)
    return min(0.25 * 2.0**attempts, 2.0)


async def _attempt(
    http: httpx.AsyncClient, operation: Operation, headers: dict[str, str]
) -> httpx.Response | None:
    try:
        return await http.post(operation.path, json=operation.body, headers=headers)
    except httpx.TransportError:  # the API was killed under the request, or is starting
        return None


def _error_code(answer: httpx.Response) -> str | None:
    try:
        error = answer.json().get("error")
    except ValueError:
        return None
    return error.get("code") if isinstance(error, dict) else None


def _retryable(answer: httpx.Response) -> bool:
    return answer.status_code == 503 or (
        answer.status_code == 409 and _error_code(answer) in RETRYABLE_CODES
    )


def _answer_label(answer: httpx.Response) -> str:
    code = _error_code(answer)
    return f"{answer.status_code} {code}" if code else str(answer.status_code)


def _note(record: StreamRecord, operation: Operation, answer: httpx.Response) -> None:
    record.answers[_answer_label(answer)] += 1
    if operation.path == "/v1/orders" and answer.status_code == 201:
        record.order_ids.add(answer.json()["id"])


def launch(
    http: httpx.AsyncClient, operation: Operation, record: StreamRecord, budget_seconds: float
) -> asyncio.Task[httpx.Response | None]:
    task = asyncio.create_task(perform(http, operation, record, budget_seconds))
    record.tasks.append(task)
    return task


async def run_stream(
    http: httpx.AsyncClient,
    planner: Planner,
    record: StreamRecord,
    *,
    orders: int,
    seconds: float,
    more_wanted: Callable[[], bool],
    budget_seconds: float,
) -> None:
    """``orders`` operations spread over ``seconds``, then more at the same pace (up to as
    many again) while ``more_wanted()``: kills still to come need traffic around them."""
    pause = seconds / orders
    sent = 0
    while sent < orders or (more_wanted() and sent < 2 * orders):
        launch(http, planner.next(), record, budget_seconds)
        sent += 1
        await asyncio.sleep(pause)
