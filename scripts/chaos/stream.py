"""The customers and their stream of orders, driven over HTTP as real clients do: every
simulator outcome, every sandbox card, some top-ups paid from the wallet and some wallet
fundings. A client whose connection drops (the API was killed) or that is told the key
is still in use sends the same request with the same Idempotency-Key again."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from scripts.bench.accounts import visa_number

PASSWORD = "chaos horse battery staple"
CODE = re.compile(r"\b(\d{6})\b")
# DESIGN §6: the test cards that are charged, declined, blocked as fraud, or refused.
MASTERCARD = "5555555555554444"
DECLINES = ("4000000000000002", "4000000000009995", "4000000000000069", "4100000000000019")
AMEX = "378282246310005"
# The simulator's outcome is the number's last four digits; 0009 is refused before payment.
OUTCOMES = {"ok": 30, "0001": 10, "0002": 10, "0003": 10, "0004": 8, "0005": 10, "0009": 4}
HOT_NUMBER = "+2348039990000"  # one number many buy for: its daily limit rejects some
PRODUCTS = {"ng-mtn-2500": 50, "ng-mtn-10000": 25, "ng-mtn-20000": 15, "ng-mtn-100000": 10}
RETRYABLE_CODES = {"idempotency_key_in_use", "service_unavailable"}


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
    retries: int = 0
    gave_up: int = 0
    order_ids: set[str] = field(default_factory=set)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


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


class Planner:
    """Draws operations at random, with distinct recipient numbers per outcome."""

    def __init__(self, rng: random.Random, customers: list[Customer]) -> None:
        self.rng = rng
        self.customers = customers
        self.count = 0

    def next(self) -> Operation:
        self.count += 1
        customer = self.rng.choice(self.customers)
        key = f"chaos-{self.count}"
        if self.rng.random() < 0.06:
            funding = {
                "amount": {"amount": 3000, "currency": "EUR"},
                "payment": card_payment(customer.card),
            }
            return Operation(customer, "/v1/wallet/fund", funding, key, "funding")
        outcome = self._pick(OUTCOMES)
        payment, paid_with = self._payment(customer)
        body: dict[str, Any] = {
            "recipient_phone": self._number(outcome),
            "product_id": self._pick(PRODUCTS),
            "payment": payment,
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

    def _payment(self, customer: Customer) -> tuple[dict[str, Any], str]:
        draw = self.rng.random()
        if draw < 0.45:
            return card_payment(customer.card), "visa"
        if draw < 0.55:
            return card_payment(MASTERCARD), "mastercard"
        if draw < 0.75:
            number = self.rng.choice(DECLINES)
            return card_payment(number), f"decline-{number[-4:]}"
        if draw < 0.79:
            return card_payment(AMEX), "amex"
        return {"wallet": True}, "wallet"


async def perform(
    http: httpx.AsyncClient, operation: Operation, record: StreamRecord, budget_seconds: float
) -> None:
    """Send until a definite answer, with the same key each time, within the budget."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_seconds
    headers = operation.customer.headers | {"Idempotency-Key": operation.key}
    record.exercised[operation.label] += 1
    attempts = 0
    while True:
        answer = await _attempt(http, operation, headers)
        if answer is not None and not _retryable(answer):
            _note(record, operation, answer)
            return
        if loop.time() > deadline:
            record.gave_up += 1
            return
        record.retries += 1
        attempts += 1
        await asyncio.sleep(min(0.25 * 2**attempts, 2.0))  # 0.5, 1, 2, 2, … seconds


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


def _note(record: StreamRecord, operation: Operation, answer: httpx.Response) -> None:
    code = _error_code(answer)
    record.answers[f"{answer.status_code} {code}" if code else str(answer.status_code)] += 1
    if operation.path == "/v1/orders" and answer.status_code == 201:
        record.order_ids.add(answer.json()["id"])


async def run_stream(
    http: httpx.AsyncClient,
    planner: Planner,
    *,
    orders: int,
    seconds: float,
    more_wanted: Callable[[], bool],
    budget_seconds: float,
) -> StreamRecord:
    """``orders`` operations spread over ``seconds``, then more at the same pace (up to as
    many again) while ``more_wanted()``: the recovery points not reached yet need traffic."""
    record = StreamRecord()
    pause = seconds / orders
    while len(record.tasks) < orders or (more_wanted() and len(record.tasks) < 2 * orders):
        operation = planner.next()
        record.tasks.append(asyncio.create_task(perform(http, operation, record, budget_seconds)))
        await asyncio.sleep(pause)
    return record
