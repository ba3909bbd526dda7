"""No card number, security code, password, SMS code, token or voucher PIN anywhere a run
leaves: a whole journey against a real `topup serve` at TOPUP_LOG_LEVEL=DEBUG with every SQL
statement echoed (TOPUP_DATABASE_ECHO), with the code, the reset link and the voucher's PIN
delivered by real providers (an SMTP server, a Twilio-shaped SMS API), then a
search of the whole log and of a dump of the whole database, on SQLite and PostgreSQL.

Only what stands in for a secret may remain: the SHA-256 of a token, the HMAC of a code,
the argon2 hash of a password, a card's last four digits and the gateway's token and
fingerprint; idempotency keys are no secret. The outbox keeps the text of the code SMS and
the reset email only while it is the delivery itself (the sandbox without providers, see
tests/notifications/test_tasks.py); here real providers deliver them, so their text must
be gone as well. The SMS provider's own auth token is searched for too.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import make_url

from tests.e2e.test_serve import arrived, code_in, sms_to
from tests.fixtures.databases import BACKENDS, as_asyncpg, fresh_database
from tests.fixtures.services import served, upgrade_database
from tests.fixtures.sms_provider import RunningSmsProvider
from tests.fixtures.smtp_server import RunningSmtp

PHONE = "+33612345678"
EMAIL = "grace@example.com"
PASSWORD = "first-secret-Passw0rd"
NEW_PASSWORD = "second-secret-Passw0rd"
WRONG_PASSWORD = "wrong-secret-Passw0rd"
CVC = "987"
SAVED_CARD = "4242 4242 4242 4242"
ORDER_CARD = "5555 5555 5555 4444"  # typed into an order, not saved
FUNDING_CARD = "4000 0566 5566 5556"  # typed into a wallet funding, not saved
DELIVERED = "+2348031234567"
VOUCHER_RECIPIENT = "+2348031234568"
VOUCHER = "ng-mtn-voucher-20000"
EUR_10 = {"amount": 1000, "currency": "EUR"}
FINAL = {"succeeded", "failed", "declined", "rejected"}
RESET_LINK = re.compile(r"https?://\S+/reset-password\?\S+")


def card(number: str) -> dict[str, object]:
    return {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": CVC}


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A new database; PostgreSQL migrated by `topup db upgrade` first, as an operator does."""
    databases = fresh_database(request.param, tmp_path)
    url = await anext(databases)
    if request.param == "postgresql":
        url = as_asyncpg(url)
        upgrade_database(url, tmp_path)
    yield url
    await anext(databases, None)


def providers(smtp: RunningSmtp, sms: RunningSmsProvider) -> dict[str, str]:
    return {
        "TOPUP_LOG_LEVEL": "DEBUG",
        "TOPUP_LOG_JSON": "true",
        # Every SQL statement in the log too: the outbox rows, tokens and cards pass there.
        "TOPUP_DATABASE_ECHO": "true",
        "TOPUP_SMTP_URL": f"smtp://{smtp.host}:{smtp.port}",
        "TOPUP_MAIL_FROM": "Topup <receipts@topup.example>",
        "TOPUP_SMS_URL": sms.url_with_credentials,
    }


class Journey:
    """Everything a customer does once, keeping each secret that crossed the wire."""

    def __init__(self, http: httpx.Client, smtp: RunningSmtp, sms: RunningSmsProvider) -> None:
        self.http, self.smtp, self.sms = http, smtp, sms
        self.secrets: dict[str, str] = {}

    def ok(self, method: str, path: str, token: str, body: object = None) -> dict[str, object]:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"key-{time.time_ns()}"}
        answer = self.http.request(method, path, json=body, headers=headers)
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        return dict(answer.json())

    def sign_up_and_log_in(self) -> str:
        person = {"first_name": "Grace", "last_name": "Hopper", "phone": PHONE, "email": EMAIL}
        signed_up = self.http.post("/v1/auth/signup", json=person | {"password": PASSWORD})
        assert signed_up.status_code == 201, signed_up.text
        code = code_in(arrived(lambda: sms_to(self.sms, PHONE))["body"])
        verified = self.http.post("/v1/auth/verify-phone", json={"phone": PHONE, "code": code})
        assert verified.status_code == 200, verified.text
        refused = self.http.post(
            "/v1/auth/login", json={"login": EMAIL, "password": WRONG_PASSWORD}
        )
        assert refused.status_code == 401
        token = self.log_in(PASSWORD)
        self.secrets |= {"the SMS code": code, "the session token": token}
        return token

    def log_in(self, password: str) -> str:
        answer = self.http.post("/v1/auth/login", json={"login": EMAIL, "password": password})
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def buy_fund_and_ask_a_refund(self, token: str) -> None:
        saved = {"card_id": self.ok("POST", "/v1/cards", token, card(SAVED_CARD))["id"]}
        typed = {"card": card(ORDER_CARD), "save_card": False}
        order = self.ok("POST", "/v1/orders", token, order_body(DELIVERED, saved))
        self.ok("POST", "/v1/orders", token, order_body("+2348031234500", typed))
        self.ok("POST", "/v1/wallet/fund", token, {"amount": EUR_10, "payment": saved})
        funding = {"amount": EUR_10, "payment": {"card": card(FUNDING_CARD)}}
        self.ok("POST", "/v1/wallet/fund", token, funding)
        self.wait_until_final(token, str(order["id"]))
        self.buy_a_voucher(token, saved)
        self.ok(
            "POST",
            "/v1/refund-requests",
            token,
            {"order_id": order["id"], "reason": "not_delivered", "destination": "wallet"},
        )

    def buy_a_voucher(self, token: str, saved: dict[str, object]) -> None:
        """A PIN voucher: its PIN and serial are secrets too, shown only in its order."""
        body = order_body(VOUCHER_RECIPIENT, saved) | {"product_id": VOUCHER}
        voucher = self.ok("POST", "/v1/orders", token, body)
        self.wait_until_final(token, str(voucher["id"]))
        pin = self.ok("GET", f"/v1/orders/{voucher['id']}", token)["pin"]
        assert isinstance(pin, dict), pin
        self.secrets |= {"the voucher's PIN": pin["code"], "the voucher's serial": pin["serial"]}

    def wait_until_final(self, token: str, order_id: str) -> None:
        deadline = time.monotonic() + 20
        while self.ok("GET", f"/v1/orders/{order_id}", token)["status"] not in FINAL:
            assert time.monotonic() < deadline, f"order {order_id} did not end within 20 s"
            time.sleep(0.2)

    def reset_password(self) -> None:
        forgot = self.http.post("/v1/auth/password/forgot", json={"email": EMAIL})
        assert forgot.status_code == 202, forgot.text
        link = arrived(self.reset_link)
        reset_token = parse_qs(urlsplit(link).query)["token"][0]
        answer = self.http.post(
            "/v1/auth/password/reset", json={"token": reset_token, "password": NEW_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        new_token = self.log_in(NEW_PASSWORD)
        self.secrets |= {"the reset token": reset_token, "the new session token": new_token}

    def reset_link(self) -> str | None:
        for mail in self.smtp.mailbox.received:
            plain = mail.message.get_body(("plain",))
            found = RESET_LINK.search(str(plain.get_content())) if plain is not None else None
            if mail.rcpt_tos == [EMAIL] and found:
                return found.group(0)
        return None


def order_body(phone: str, payment: dict[str, object]) -> dict[str, object]:
    return {"recipient_phone": phone, "product_id": "ng-mtn-2500", "payment": payment}


def forbidden(journey: Journey, sms: RunningSmsProvider) -> dict[str, re.Pattern[str]]:
    """What must appear nowhere: each secret, as a pattern."""
    exact = {
        "the password": PASSWORD,
        "the new password": NEW_PASSWORD,
        "a wrong password": WRONG_PASSWORD,
        "the SMS provider's auth token": sms.auth_token,
    } | journey.secrets
    patterns = {what: re.compile(re.escape(value)) for what, value in exact.items()}
    for number in (SAVED_CARD, ORDER_CARD, FUNDING_CARD):
        patterns[f"the card number {number}"] = re.compile(re.escape(number))
        patterns[f"the card number {number}, unspaced"] = re.compile(number.replace(" ", ""))
    # A code of six digits could be part of a time or an amount: only on its own.
    patterns["the SMS code"] = re.compile(rf"(?<![\d.:]){journey.secrets['the SMS code']}(?!\d)")
    patterns["the security code"] = re.compile(rf"cvc\W{{0,6}}{CVC}\b", re.IGNORECASE)
    return patterns


def dump(database_url: str) -> str:
    """The whole database as SQL: pg_dump for PostgreSQL, iterdump for SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with contextlib.closing(sqlite3.connect(str(url.database))) as connection:
            return "\n".join(connection.iterdump())
    pg_dump = shutil.which("pg_dump") or next(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    arguments = [str(pg_dump), "--data-only", "--inserts", libpq]
    done = subprocess.run(arguments, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def wait_until_the_outbox_is_done(database_url: str) -> None:
    """The worker records each send just after the provider took it: wait for the records."""
    deadline = time.monotonic() + 20
    while re.search(r"'(pending|sending)'", outbox_states(database_url)):
        assert time.monotonic() < deadline, "messages still waiting after 20 s"
        time.sleep(0.3)


def outbox_states(database_url: str) -> str:
    return "\n".join(
        line for line in dump(database_url).splitlines() if "outbound_messages" in line
    )


def test_a_whole_journey_leaves_no_secret_in_the_log_or_the_database(
    database_url: str, tmp_path: Path, smtp_server: RunningSmtp, sms_provider: RunningSmsProvider
) -> None:
    serve = contextlib.contextmanager(served)
    with serve(database_url, tmp_path, providers(smtp_server, sms_provider)) as base_url:
        with httpx.Client(base_url=base_url, timeout=20.0) as http:
            journey = Journey(http, smtp_server, sms_provider)
            token = journey.sign_up_and_log_in()
            journey.buy_fund_and_ask_a_refund(token)
            journey.reset_password()
        wait_until_the_outbox_is_done(database_url)
    # Read once the service has stopped: its last lines are then flushed.
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    stored = dump(database_url)

    # Both were written: a silence below means something.
    assert "INSERT INTO outbound_messages" in log
    assert "INSERT INTO saved_cards" in log
    assert "'4242'" in stored  # a card's last four digits are kept
    assert EMAIL in stored
    found = {
        (what, where)
        for what, pattern in forbidden(journey, sms_provider).items()
        for where, text in (("log", log), ("database", stored))
        if pattern.search(text)
    }
    assert sorted(found) == []
