"""The end of a run: what the database, the supplier simulator, the card sandbox, the
ledger and the receiving SMTP and SMS servers say, checked against each other. Each broken
rule is one violation, named with the order or message it concerns."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.services import run_topup
from tests.fixtures.sms_provider import RunningSmsProvider
from tests.fixtures.smtp_server import RunningSmtp

FINAL = ("succeeded", "failed", "declined", "rejected")
# What an order that ended so must have sent: the buyer's receipt and the recipient's SMS,
# or the buyer's "it failed" email.
EXPECTED_MESSAGES = {
    "succeeded": ("order_succeeded", "topup_received"),
    "failed": ("order_failed",),
}

ORDERS = text(
    """
    SELECT o.id, o.status, o.payment_method, o.payment_status, o.hold_transfer_id,
           s.status AS delivered, p.status AS card_payment
    FROM orders o
    LEFT JOIN simulator_topups s ON s.reference = o.id
    LEFT JOIN sandbox_payments p ON p.id = o.gateway_reference
    """
)
STRAY_TOPUPS = text(
    "SELECT reference FROM simulator_topups WHERE reference NOT IN (SELECT id FROM orders)"
)
OPEN_HOLDS = text(
    """
    SELECT t.id FROM transfers t
    WHERE t.kind = 'pending' AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = t.id)
    """
)
OPEN_CARD_HOLDS = text("SELECT id FROM sandbox_payments WHERE status = 'authorized'")
OPEN_FUNDINGS = text("SELECT id FROM wallet_fundings WHERE status IN ('created', 'authorized')")
# Each card payment with a paid refund: what the card network refunded, and what the paid
# refunds to the card add up to.
CARD_REFUNDS = text(
    """
    SELECT p.id, p.refunded,
           coalesce(sum(r.net) FILTER (WHERE r.status = 'paid'), 0) AS paid
    FROM refund_requests r
    JOIN orders o ON o.id = r.order_id
    JOIN sandbox_payments p ON p.id = o.gateway_reference
    WHERE r.destination = 'original_method'
    GROUP BY p.id, p.refunded
    """
)
REFUNDS = text("SELECT id, status FROM refund_requests")
MESSAGES = text("SELECT id, channel, kind, status, last_error, dedupe_key FROM outbound_messages")


@dataclass
class Findings:
    orders: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    refunds: Counter[str] = field(default_factory=Counter)
    delivered_emails: int = 0
    delivered_sms: int = 0
    same_identity_repeats: Counter[str] = field(default_factory=Counter)
    ledger_check: str = ""
    violations: list[str] = field(default_factory=list)


async def check(
    engine: AsyncEngine,
    database_url: str,
    smtp: RunningSmtp,
    sms: RunningSmsProvider,
    work_directory: Any,
) -> Findings:
    findings = Findings()
    async with engine.connect() as connection:
        orders = (await connection.execute(ORDERS)).mappings().all()
        stray = (await connection.execute(STRAY_TOPUPS)).scalars().all()
        holds = (await connection.execute(OPEN_HOLDS)).scalars().all()
        card_holds = (await connection.execute(OPEN_CARD_HOLDS)).scalars().all()
        fundings = (await connection.execute(OPEN_FUNDINGS)).scalars().all()
        messages = (await connection.execute(MESSAGES)).mappings().all()
        refunds = (await connection.execute(REFUNDS)).mappings().all()
        card_refunds = (await connection.execute(CARD_REFUNDS)).mappings().all()
    violations = findings.violations
    for order in orders:
        findings.orders[order["status"]] += 1
        violations.extend(_order_violations(order))
    violations.extend(f"top-up {reference} at the supplier for no order" for reference in stray)
    violations.extend(f"ledger hold {hold} neither posted nor voided" for hold in holds)
    violations.extend(f"card hold {payment} never captured or voided" for payment in card_holds)
    violations.extend(f"wallet funding {funding} never finished" for funding in fundings)
    _check_refunds(findings, refunds, card_refunds)
    _check_messages(findings, orders, messages, smtp, sms)
    completed = run_topup(["ledger", "check"], database_url, work_directory)
    findings.ledger_check = (completed.stdout + completed.stderr).strip()
    if completed.returncode != 0:
        violations.append(f"topup ledger check exited {completed.returncode}")
    return findings


def _order_violations(order: Any) -> list[str]:
    """One final state; delivered exactly when captured; nothing sent unless submitted."""
    order_id, status, delivered = order["id"], order["status"], order["delivered"]
    problems = []
    if status not in FINAL:
        problems.append(f"order {order_id} stuck at {status}")
    captured = order["payment_status"] == "captured"
    if (delivered == "succeeded") != captured:
        problems.append(
            f"order {order_id}: delivered={delivered} but payment {order['payment_status']}"
        )
    if (status == "succeeded") != captured:
        problems.append(f"order {order_id}: {status} with payment {order['payment_status']}")
    if status in ("declined", "rejected") and delivered is not None:
        problems.append(f"order {order_id} {status} yet the supplier has a top-up ({delivered})")
    if order["payment_method"] == "card" and order["card_payment"] is not None:
        at_gateway = {"captured": "captured", "voided": "voided", "declined": "declined"}
        if at_gateway.get(order["card_payment"]) != order["payment_status"]:
            problems.append(
                f"order {order_id}: card {order['card_payment']}, "
                f"order says {order['payment_status']}"
            )
    return problems


def _check_refunds(findings: Findings, refunds: Any, card_refunds: Any) -> None:
    """An approved refund is paid; the card network refunded each payment exactly what
    its paid refunds say, once (a refund paid twice after a crash would show here)."""
    for refund in refunds:
        findings.refunds[refund["status"]] += 1
        if refund["status"] == "approved":
            findings.violations.append(f"refund {refund['id']} approved, never paid")
    for payment in card_refunds:
        if payment["refunded"] != payment["paid"]:
            findings.violations.append(
                f"card payment {payment['id']}: {payment['refunded']} refunded at the gateway,"
                f" {payment['paid']} by the paid refunds"
            )


def _check_messages(
    findings: Findings, orders: Any, messages: Any, smtp: RunningSmtp, sms: RunningSmsProvider
) -> None:
    """Every message the outbox says went reached its server; none reached it twice under
    two identities; every order's expected messages exist. One message sent again under
    the same identity (a crash between the send and its record) is counted, not a
    violation: the SMS server creates nothing the second time (its idempotency key), and a
    mailbox shows one email per Message-ID."""
    emails = Counter(
        mail.message["Message-ID"].strip("<>").split("@")[0] for mail in smtp.mailbox.received
    )
    created = sms.twilio.created_by_key()
    findings.delivered_emails, findings.delivered_sms = len(emails), len(created)
    findings.same_identity_repeats["email"] = sum(count - 1 for count in emails.values())
    findings.same_identity_repeats["sms"] = sms.twilio.replays()
    if sms.twilio.created_without_key():
        findings.violations.append(f"{sms.twilio.created_without_key()} SMS created without a key")
    outbox_ids = set()
    kinds_of_order: dict[str, set[str]] = {}
    for message in messages:
        outbox_ids.add(message["id"])
        findings.messages[f"{message['channel']} {message['status']}"] += 1
        key = message["dedupe_key"] or ""
        if ":" in key:
            kinds_of_order.setdefault(key.split(":")[0], set()).add(message["kind"])
        received = emails if message["channel"] == "email" else created
        if message["status"] == "sent" and message["id"] not in received:
            findings.violations.append(f"message {message['id']} marked sent, never received")
        elif message["status"] in ("pending", "sending"):
            findings.violations.append(f"message {message['id']} still {message['status']}")
        elif message["status"] == "dead" and message["last_error"] != "expired":
            findings.violations.append(f"message {message['id']} dead: {message['last_error']}")
    for identity in (set(emails) | set(created)) - outbox_ids:
        findings.violations.append(f"received {identity}, which the outbox never held")
    for order in orders:
        missing = set(EXPECTED_MESSAGES.get(order["status"], ())) - kinds_of_order.get(
            order["id"], set()
        )
        findings.violations.extend(f"order {order['id']} has no {kind} message" for kind in missing)
