"""`topup serve` as a real process: it prepares its database and answers a lookup."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.fixtures.services import free_port, run_topup, served
from tests.fixtures.sms_provider import RunningSmsProvider
from tests.fixtures.smtp_server import RunningSmtp

pytestmark = pytest.mark.e2e

T = TypeVar("T")


def assert_lookup_names_mtn_nigeria(base_url: str) -> None:
    response = httpx.get(f"{base_url}/v1/lookup", params={"phone": "+2348031234567"}, timeout=10.0)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["phone"] == "+2348031234567"
    assert answer["country"] == "NG"
    assert answer["operator"]["id"] == "ng-mtn"
    assert "MTN" in answer["operator"]["name"]
    assert answer["products"]
    for product in answer["products"]:
        assert product["operator_id"] == "ng-mtn"
        local = product["local_value"] if product["kind"] == "fixed" else product["local_min"]
        price = product["price"] if product["kind"] == "fixed" else product["price_min"]
        assert local["currency"] == "NGN"
        assert price["currency"] == "EUR"
        assert local["amount"] > 0
        assert price["amount"] > 0


def assert_docs_answer(base_url: str) -> None:
    docs = httpx.get(f"{base_url}/docs", timeout=10.0)

    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


JOURNEY_PASSWORD = "correct horse battery"


def code_in_the_outbox(http: httpx.Client, phone: str) -> str:
    """The sandbox's delivery: the code SMS as the outbox keeps it."""
    messages = http.get("/v1/sandbox/messages", params={"to": phone}).json()
    return code_in(messages["data"][0]["body"])


def code_in(body: str) -> str:
    match = re.search(r"\b(\d{6})\b", body)
    assert match is not None, body
    return match.group(1)


def assert_account_journey(
    base_url: str,
    log_path: Path,
    read_code: Callable[[httpx.Client, str], str] = code_in_the_outbox,
) -> None:
    """The README's journey: sign-up, the SMS code (from the outbox unless a provider
    delivers it), verify, login, /v1/me; then neither the code nor the password may be
    anywhere in the server's log."""
    person = {
        "first_name": "Ada",
        "last_name": "Obi",
        "phone": "+33 6 12 34 56 78",
        "email": "ada@example.com",
        "password": JOURNEY_PASSWORD,
    }
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        signup = http.post("/v1/auth/signup", json=person)
        assert signup.status_code == 201, signup.text
        assert signup.json()["customer"]["phone"] == "+33612345678"
        code = read_code(http, "+33612345678")
        verified = http.post("/v1/auth/verify-phone", json={"phone": "+33612345678", "code": code})
        assert verified.status_code == 200, verified.text
        assert verified.json()["customer"]["phone_verified"] is True
        login = http.post(
            "/v1/auth/login", json={"login": "ada@example.com", "password": JOURNEY_PASSWORD}
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["customer"]["email"] == "ada@example.com"
        assert_top_ups_end_as_the_sandbox_says(http, {"Authorization": f"Bearer {token}"})
    log = log_path.read_text(encoding="utf-8")
    assert "started" in log  # the log was written, so its silence below means something
    assert code not in log
    assert JOURNEY_PASSWORD not in log
    assert token not in log


def buy(http: httpx.Client, headers: dict[str, str], phone: str) -> str:
    body = {
        "recipient_phone": phone,
        "product_id": "ng-mtn-2500",
        "payment": {
            "card": {
                "number": "4242 4242 4242 4242",
                "exp_month": 12,
                "exp_year": 2030,
                "cvc": "123",
            }
        },
    }
    placed = http.post("/v1/orders", json=body, headers=headers | {"Idempotency-Key": phone})
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["id"]
    return order_id


def final_order(http: httpx.Client, headers: dict[str, str], order_id: str) -> dict[str, object]:
    """The order once the service's own worker has finished with it (bounded wait)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        order: dict[str, object] = http.get(f"/v1/orders/{order_id}", headers=headers).json()
        if order["status"] in ("succeeded", "failed", "declined"):
            return order
        time.sleep(0.2)
    pytest.fail(f"order {order_id} did not end within 20 s")


def assert_top_ups_end_as_the_sandbox_says(http: httpx.Client, headers: dict[str, str]) -> None:
    """The README's purchase: a top-up succeeds and is captured; a 0001 number fails and its
    payment is voided, both moved on by the service alone (fast path and worker)."""
    delivered = final_order(http, headers, buy(http, headers, "+2348031234567"))
    assert (delivered["status"], delivered["payment"]) == (
        "succeeded",
        {"method": "card", "status": "captured", "card_last4": "4242"},
    )
    refused = final_order(http, headers, buy(http, headers, "+2348031230001"))
    assert (refused["status"], refused["payment"], refused["failure_code"]) == (
        "failed",
        {"method": "card", "status": "voided", "card_last4": "4242"},
        "operator_rejected",
    )


def test_serve_on_sqlite_answers_a_lookup(sqlite_service: str, tmp_path: Path) -> None:
    assert_lookup_names_mtn_nigeria(sqlite_service)
    assert_docs_answer(sqlite_service)
    assert httpx.get(f"{sqlite_service}/readyz", timeout=10.0).json()["status"] == "ready"
    assert_account_journey(sqlite_service, tmp_path / "serve.log")


def test_serve_on_postgresql_answers_a_lookup(postgres_service: str, tmp_path: Path) -> None:
    assert_lookup_names_mtn_nigeria(postgres_service)
    assert_docs_answer(postgres_service)
    assert httpx.get(f"{postgres_service}/readyz", timeout=10.0).json()["status"] == "ready"
    assert_account_journey(postgres_service, tmp_path / "serve.log")


def test_serve_refuses_a_postgresql_database_that_is_not_migrated(
    postgres_url: str, tmp_path: Path
) -> None:
    completed = run_topup(["serve", "--port", str(free_port())], postgres_url, tmp_path)

    assert completed.returncode == 1
    assert "run `topup db upgrade`" in completed.stderr


def test_serve_sends_the_receipt_over_smtp_and_the_sms_through_the_provider(
    smtp_server: RunningSmtp, sms_provider: RunningSmsProvider, tmp_path: Path
) -> None:
    """DESIGN §6: with TOPUP_SMTP_URL and TOPUP_SMS_URL set, the worker inside `topup serve`
    really sends: the code by SMS, then the receipt by email and the recipient's SMS."""
    providers = {
        "TOPUP_SMTP_URL": f"smtp://{smtp_server.host}:{smtp_server.port}",
        "TOPUP_MAIL_FROM": "Topup <receipts@topup.example>",
        "TOPUP_SMS_URL": sms_provider.url_with_credentials,
        "TOPUP_SMS_FROM": "+15005550006",
    }
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'topup.db'}"
    with contextlib.contextmanager(served)(database_url, tmp_path, providers) as base_url:
        # A delivered code is erased from the outbox: it is read where Ada reads it.
        assert_account_journey(
            base_url,
            tmp_path / "serve.log",
            lambda _http, phone: code_in(arrived(lambda: sms_to(sms_provider, phone))["body"]),
        )
        receipt = arrived(lambda: receipts_to(smtp_server, "ada@example.com"))
        sms = arrived(lambda: sms_to(sms_provider, "+2348031234567"))

    # Ada signed up with a French number, so her account speaks French.
    assert (
        " ".join(receipt["Subject"].split()) == "Reçu : envoi de 2 500,00 NGN à +234 803 123 4567"
    )
    assert receipt["Message-ID"].endswith("@topup.example>")
    plain = receipt.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "Visa •••• 4242" in text
    assert "MTN Nigeria" in text
    assert receipt.get_body(("html",)) is not None
    # The recipient's SMS speaks the destination's language: English in Nigeria.
    assert (
        sms["body"] == "Ada sent you NGN 2,500.00 of MTN Nigeria credit with Topup. Balance: *310#"
    )
    assert sms["from"] == "+15005550006"
    codes = sms_to_all(sms_provider, "+33612345678")
    assert any("Votre code Topup est" in message["body"] for message in codes)


def arrived(find: Callable[[], T | None]) -> T:
    """What ``find`` finds within 20 s: the worker sends on its own schedule."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = find()
        if found is not None:
            return found
        time.sleep(0.2)
    pytest.fail("the message did not arrive within 20 s")


def receipts_to(smtp: RunningSmtp, address: str) -> EmailMessage | None:
    for mail in smtp.mailbox.received:
        if mail.rcpt_tos == [address] and "803 123 4567" in str(mail.message["Subject"]):
            return mail.message
    return None


def sms_to_all(provider: RunningSmsProvider, phone: str) -> list[dict[str, Any]]:
    return [message for message in provider.messages if message["to"] == phone]


def sms_to(provider: RunningSmsProvider, phone: str) -> dict[str, Any] | None:
    found = sms_to_all(provider, phone)
    return found[0] if found else None
