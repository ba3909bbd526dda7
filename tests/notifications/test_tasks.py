"""The outbox worker against a real SMTP server and a real HTTP server in the shape of
Twilio's Messages API, on both databases: delivery, retries with back-off, dead letters,
no second message after a crash between the send and its record, and nothing at all from a
transaction that rolled back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.fixtures.sms_provider import RunningSmsProvider
from tests.fixtures.smtp_server import RunningSmtp
from tests.notifications.support import stored
from topup.kit import clock, faults
from topup.kit.db import create_session_factory, unit_of_work
from topup.notifications import service, tasks
from topup.notifications.models import Channel, MessageStatus, OutboundMessage
from topup.notifications.rendering import render_email
from topup.notifications.repository import MessageRepository
from topup.notifications.tasks import (
    LEASE,
    MAX_ATTEMPTS,
    NotificationDeps,
    claim_due,
    deliver,
    retry_delay,
    run_due,
)
from topup.providers.delivery import DeliveryFailed
from topup.providers.email.console import ConsoleEmailSender
from topup.providers.email.smtp import SmtpEmailSender, SmtpServer
from topup.providers.sms.base import OutgoingSms
from topup.providers.sms.console import ConsoleSmsSender
from topup.providers.sms.http import HttpSmsSender

PHONE = "+2348031234567"
EMAIL = "ada@example.com"


@dataclass
class Outbox:
    sessions: async_sessionmaker[AsyncSession]
    deps: NotificationDeps
    smtp: RunningSmtp
    sms: RunningSmsProvider

    async def queue(
        self, channel: Channel, *, body: str = "Your top-up arrived.", kind: str = "test"
    ) -> str:
        async with unit_of_work(self.sessions) as session:
            message = service.enqueue(
                session,
                channel=channel,
                recipient=EMAIL if channel is Channel.email else PHONE,
                subject="Receipt" if channel is Channel.email else None,
                body=body,
                html_body="<p>Your top-up arrived.</p>" if channel is Channel.email else None,
                kind=kind,
            )
            return message.id

    async def row(self, message_id: str) -> OutboundMessage:
        found = await stored(self.sessions, message_id)
        assert found is not None
        return found


@pytest.fixture
async def outbox(
    empty_engine: AsyncEngine, smtp_server: RunningSmtp, sms_provider: RunningSmsProvider
) -> AsyncIterator[Outbox]:
    """A blank database, so the worker sees this test's messages only."""
    email = SmtpEmailSender(
        SmtpServer.from_url(f"smtp://{smtp_server.host}:{smtp_server.port}", timeout_seconds=5),
        sender="Topup <receipts@topup.example>",
    )
    sms = HttpSmsSender(sms_provider.url_with_credentials, sender="Topup")
    sessions = create_session_factory(empty_engine)
    yield Outbox(sessions, NotificationDeps(sessions, email, sms), smtp_server, sms_provider)
    await sms.close()


async def test_a_due_email_and_sms_are_delivered_and_marked_sent(outbox: Outbox) -> None:
    email_id = await outbox.queue(Channel.email)
    sms_id = await outbox.queue(Channel.sms)

    assert await run_due(outbox.deps) == 2

    [mail] = outbox.smtp.mailbox.received
    assert mail.rcpt_tos == [EMAIL]
    assert mail.message["Message-ID"] == f"<{email_id}@topup.example>"
    plain, html = mail.message.get_body(("plain",)), mail.message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().strip() == "Your top-up arrived."
    assert "<p>Your top-up arrived.</p>" in html.get_content()
    [sms] = outbox.sms.messages
    assert (sms["to"], sms["body"]) == (PHONE, "Your top-up arrived.")
    email_row, sms_row = await outbox.row(email_id), await outbox.row(sms_id)
    assert (email_row.status, email_row.attempts) == (MessageStatus.sent, 1)
    assert email_row.provider_reference == f"<{email_id}@topup.example>"
    assert (sms_row.status, sms_row.provider_reference) == (MessageStatus.sent, sms["sid"])
    assert await run_due(outbox.deps) == 0  # nothing is sent twice


async def test_a_delivered_code_or_reset_link_leaves_no_copy_of_its_secret(
    outbox: Outbox,
) -> None:
    code = await outbox.queue(
        Channel.sms, body="Your Topup code: 493817", kind="phone_verification"
    )
    link = await outbox.queue(
        Channel.email, body="https://topup.example/reset-password?token=abc", kind="password_reset"
    )
    receipt = await outbox.queue(Channel.sms, kind="order_succeeded")

    assert await run_due(outbox.deps) == 3

    assert [sms["body"] for sms in outbox.sms.messages] == [
        "Your Topup code: 493817",
        "Your top-up arrived.",
    ]
    for message_id in (code, link):
        row = await outbox.row(message_id)
        assert (row.status, row.body, row.html_body) == (MessageStatus.sent, None, None)
        assert row.recipient is not None  # who got it stays, as for every message
    assert (await outbox.row(receipt)).body == "Your top-up arrived."


async def test_with_the_outbox_as_the_delivery_a_code_keeps_its_text(outbox: Outbox) -> None:
    """The sandbox: without a provider the row is what GET /v1/sandbox/messages shows."""
    deps = NotificationDeps(outbox.sessions, ConsoleEmailSender(), ConsoleSmsSender())
    code = await outbox.queue(
        Channel.sms, body="Your Topup code: 493817", kind="phone_verification"
    )

    assert await run_due(deps) == 1

    row = await outbox.row(code)
    assert (row.status, row.body) == (MessageStatus.sent, "Your Topup code: 493817")


async def test_a_refused_email_is_tried_again_after_its_back_off(outbox: Outbox) -> None:
    message_id = await outbox.queue(Channel.email)
    outbox.smtp.mailbox.refuse_next(2, code=451)

    await run_due(outbox.deps)
    row = await outbox.row(message_id)
    assert (row.status, row.attempts) == (MessageStatus.pending, 1)
    assert row.last_error is not None
    assert "451" in row.last_error
    assert retry_delay(1) - timedelta(seconds=5) < row.due_at - clock.now() <= retry_delay(1)
    assert await run_due(outbox.deps) == 0  # not due before its back-off ends

    clock.advance(retry_delay(1).total_seconds())
    await run_due(outbox.deps)
    assert (await outbox.row(message_id)).attempts == 2
    clock.advance(retry_delay(2).total_seconds())
    await run_due(outbox.deps)

    row = await outbox.row(message_id)
    assert (row.status, row.attempts, row.last_error) == (MessageStatus.sent, 3, None)
    assert len(outbox.smtp.mailbox.received) == 1
    assert outbox.smtp.mailbox.refused == 2


async def test_a_throttled_or_failing_sms_provider_is_tried_again(outbox: Outbox) -> None:
    message_id = await outbox.queue(Channel.sms)
    outbox.sms.fail_next(1, status=429)
    await run_due(outbox.deps)
    outbox.sms.fail_next(1, status=500)
    clock.advance(retry_delay(1).total_seconds())
    await run_due(outbox.deps)
    assert (await outbox.row(message_id)).status == MessageStatus.pending

    clock.advance(retry_delay(2).total_seconds())
    await run_due(outbox.deps)

    assert (await outbox.row(message_id)).status == MessageStatus.sent
    assert len(outbox.sms.messages) == 1


async def test_a_permanent_refusal_ends_the_message_dead_at_once(outbox: Outbox) -> None:
    email_id = await outbox.queue(Channel.email)
    outbox.smtp.mailbox.refuse_next(1, code=550)
    async with unit_of_work(outbox.sessions) as session:
        sms_id = service.enqueue(
            session, channel=Channel.sms, recipient="+12", body="x", kind="test"
        ).id  # no provider accepts this number: Twilio answers 400, code 21211

    await run_due(outbox.deps)

    email_row, sms_row = await outbox.row(email_id), await outbox.row(sms_id)
    assert (email_row.status, email_row.attempts) == (MessageStatus.dead, 1)
    assert email_row.last_error is not None
    assert "550" in email_row.last_error
    assert (sms_row.status, sms_row.attempts) == (MessageStatus.dead, 1)
    assert sms_row.last_error is not None
    assert "21211" in sms_row.last_error
    clock.advance(24 * 3600)
    assert await run_due(outbox.deps) == 0


async def test_a_message_refused_every_time_is_dead_after_the_last_attempt(
    outbox: Outbox,
) -> None:
    message_id = await outbox.queue(Channel.email)
    outbox.smtp.mailbox.refuse_next(MAX_ATTEMPTS + 5, code=451)

    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await run_due(outbox.deps) == 1
        clock.advance(retry_delay(attempt).total_seconds())

    row = await outbox.row(message_id)
    assert (row.status, row.attempts) == (MessageStatus.dead, MAX_ATTEMPTS)
    assert outbox.smtp.mailbox.refused == MAX_ATTEMPTS
    assert await run_due(outbox.deps) == 0


def test_the_back_off_doubles_up_to_an_hour() -> None:
    delays = [retry_delay(attempt).total_seconds() for attempt in range(1, MAX_ATTEMPTS + 1)]

    assert delays[:4] == [30, 60, 120, 240]
    assert max(delays) == 3600
    assert delays == sorted(delays)


async def test_a_crash_between_the_sms_send_and_its_record_sends_no_second_sms(
    outbox: Outbox,
) -> None:
    message_id = await outbox.queue(Channel.sms)
    faults.arm("message.sent")
    [claimed] = await claim_due(outbox.deps)

    with pytest.raises(faults.InjectedCrash):
        await deliver(outbox.deps, claimed)  # the provider has it; our record does not

    assert (await outbox.row(message_id)).status == MessageStatus.sending
    assert await run_due(outbox.deps) == 0  # the lease still holds
    clock.advance(LEASE.total_seconds())
    assert await run_due(outbox.deps) == 1

    row = await outbox.row(message_id)
    [sms] = outbox.sms.messages
    assert (row.status, row.attempts, row.provider_reference) == (
        MessageStatus.sent,
        2,
        sms["sid"],
    )
    keys = [request.headers["idempotency-key"] for request in outbox.sms.requests]
    assert keys == [message_id, message_id]


async def test_a_crash_between_the_email_send_and_its_record_repeats_the_same_message_id(
    outbox: Outbox,
) -> None:
    """SMTP has no idempotency key: the repeat is the same message by its Message-ID, which
    is what mailboxes collapse duplicates by (the README says so of SMTP)."""
    message_id = await outbox.queue(Channel.email)
    faults.arm("message.sent")
    [claimed] = await claim_due(outbox.deps)
    with pytest.raises(faults.InjectedCrash):
        await deliver(outbox.deps, claimed)

    clock.advance(LEASE.total_seconds())
    await run_due(outbox.deps)

    received = outbox.smtp.mailbox.received
    assert {mail.message["Message-ID"] for mail in received} == {f"<{message_id}@topup.example>"}
    assert (await outbox.row(message_id)).status == MessageStatus.sent


async def test_a_crash_before_the_send_sends_the_message_once_the_lease_lapses(
    outbox: Outbox,
) -> None:
    message_id = await outbox.queue(Channel.sms)
    await claim_due(outbox.deps)  # the worker that claimed it dies here

    clock.advance(LEASE.total_seconds())
    await run_due(outbox.deps)

    assert (await outbox.row(message_id)).status == MessageStatus.sent
    assert len(outbox.sms.messages) == 1


async def test_a_worker_whose_lease_lapsed_before_its_turn_does_not_send(
    outbox: Outbox,
) -> None:
    """A long batch: the message's lease ran out before this worker reached it, and a
    second worker has taken it over; the first must leave it alone."""
    message_id = await outbox.queue(Channel.sms)
    [stale] = await claim_due(outbox.deps)
    clock.advance(LEASE.total_seconds())
    await run_due(outbox.deps)  # a second worker takes it over and sends it

    await deliver(outbox.deps, stale)  # the first one reaches it at last

    row = await outbox.row(message_id)
    assert (row.status, row.attempts, row.last_error) == (MessageStatus.sent, 2, None)
    assert len(outbox.sms.requests) == 1


async def test_a_late_record_from_a_worker_whose_send_outlived_its_lease_changes_nothing(
    outbox: Outbox,
) -> None:
    message_id = await outbox.queue(Channel.email)
    [slow] = await claim_due(outbox.deps)
    clock.advance(LEASE.total_seconds())
    # The slow send ends in a refusal only after a second worker has taken the message
    # over and sent it; the refusal must not undo that.
    await run_due(outbox.deps)
    async with unit_of_work(outbox.sessions) as session:
        row = await session.get(OutboundMessage, message_id)
        assert row is not None
        assert row.status == MessageStatus.sent

    await tasks._record(outbox.deps, slow, failure=DeliveryFailed("451 too late", permanent=False))

    row = await outbox.row(message_id)
    assert (row.status, row.last_error) == (MessageStatus.sent, None)


async def test_two_workers_that_read_the_same_due_message_claim_it_once(outbox: Outbox) -> None:
    """On SQLite a SELECT … FOR UPDATE locks nothing: both workers may see the message
    due; the claim itself must let only one of them have it."""
    message_id = await outbox.queue(Channel.sms)
    now = clock.now()
    async with outbox.sessions() as first, outbox.sessions() as second:
        seen_first = await MessageRepository(first).due_ids(now, limit=5, skip_locked=False)
        seen_second = await MessageRepository(second).due_ids(now, limit=5, skip_locked=False)
        assert seen_first == seen_second == [message_id]
        lease = now + LEASE
        taken_first = await MessageRepository(first).take(message_id, now=now, lease_until=lease)
        await first.commit()
        taken_second = await MessageRepository(second).take(message_id, now=now, lease_until=lease)
        await second.commit()

    assert taken_first is not None
    assert taken_first.attempts == 1
    assert taken_second is None


async def test_a_send_that_hangs_is_cut_off_and_tried_again(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Hanging:
        name = "hanging"

        async def send(self, sms: OutgoingSms) -> str:
            await asyncio.sleep(30)
            raise AssertionError("the timeout should have cut this send off")

    monkeypatch.setattr(tasks, "SEND_TIMEOUT_SECONDS", 0.05)
    message_id = await outbox.queue(Channel.sms)
    deps = NotificationDeps(outbox.sessions, outbox.deps.email, Hanging())

    await run_due(deps)

    row = await outbox.row(message_id)
    assert (row.status, row.attempts, row.last_error) == (MessageStatus.pending, 1, "timed out")


async def test_a_message_found_past_its_expiry_ends_dead_unsent(outbox: Outbox) -> None:
    async with unit_of_work(outbox.sessions) as session:
        message_id = service.enqueue(
            session,
            channel=Channel.sms,
            recipient=PHONE,
            body="Your Topup code is 123456.",
            kind="phone_verification",
            expires_in=timedelta(minutes=10),
        ).id
    outbox.sms.fail_next(1, status=500)
    await run_due(outbox.deps)  # refused: tried again after 30 s, 1 min, 2 min, …
    clock.advance(11 * 60)

    await run_due(outbox.deps)

    row = await outbox.row(message_id)
    assert (row.status, row.last_error) == (MessageStatus.dead, "expired")
    assert outbox.sms.messages == []


async def test_an_address_email_cannot_carry_is_dead_at_once(outbox: Outbox) -> None:
    async with unit_of_work(outbox.sessions) as session:
        message_id = service.enqueue(
            session,
            channel=Channel.email,
            recipient="josé@example.com",
            subject="Receipt",
            body="x",
            kind="test",
        ).id

    await run_due(outbox.deps)

    row = await outbox.row(message_id)
    assert (row.status, row.attempts) == (MessageStatus.dead, 1)
    assert row.last_error is not None
    assert row.last_error.startswith("unsendable")
    assert outbox.smtp.mailbox.received == []


async def test_nothing_is_sent_when_the_transaction_that_wrote_the_message_rolled_back(
    outbox: Outbox,
) -> None:
    async def failing_event() -> None:
        async with unit_of_work(outbox.sessions) as session:
            service.enqueue(
                session, channel=Channel.sms, recipient=PHONE, body="never", kind="test"
            )
            service.enqueue(
                session,
                channel=Channel.email,
                recipient=EMAIL,
                subject="never",
                body="never",
                kind="test",
            )
            await session.flush()  # the rows reach the database, uncommitted
            raise RuntimeError("the event failed")

    with pytest.raises(RuntimeError):
        await failing_event()

    assert await run_due(outbox.deps) == 0
    assert outbox.sms.requests == []
    assert outbox.smtp.mailbox.received == []


async def test_an_erased_message_is_never_sent(outbox: Outbox) -> None:
    message_id = await outbox.queue(Channel.sms)
    async with unit_of_work(outbox.sessions) as session:
        row = await session.get(OutboundMessage, message_id)
        assert row is not None
        row.recipient = row.body = None  # its account was deleted before it went out

    await run_due(outbox.deps)

    row = await outbox.row(message_id)
    assert (row.status, row.last_error) == (MessageStatus.dead, "erased")
    assert outbox.sms.requests == []


async def test_two_workers_at_once_send_each_message_once(outbox: Outbox) -> None:
    ids = [await outbox.queue(Channel.sms, body=f"message {n}") for n in range(12)]

    await asyncio.gather(run_due(outbox.deps, limit=5), run_due(outbox.deps, limit=5))
    while await run_due(outbox.deps):
        pass

    assert sorted(message["body"] for message in outbox.sms.messages) == sorted(
        f"message {n}" for n in range(12)
    )
    assert {(await outbox.row(message_id)).status for message_id in ids} == {MessageStatus.sent}


@pytest.mark.parametrize("language", ["en", "fr", "it", "es"])
async def test_a_receipt_in_each_language_arrives_over_smtp_as_rendered(
    outbox: Outbox, language: str
) -> None:
    context: dict[str, object] = {
        "first_name": "Zoë",
        "reference": "ord_1",
        "recipient": "+221 77 123 45 67",
        "operator": "Orange Sénégal",
        "local_value": "1 000 F CFA",
        "price": "2,35 €",
        "vat": "0,39 €",
        "card": "Visa •••• 4242",
        "wallet": False,
        "date": "22 novembre 2026",
        "message": "Bon anniversaire 🎂",
        "balance_code": "#123#",
        "failure_code": None,
    }
    rendered = render_email(language, "order_succeeded", **context)
    async with unit_of_work(outbox.sessions) as session:
        queued = service.enqueue(
            session,
            channel=Channel.email,
            recipient=EMAIL,
            kind="order_succeeded",
            subject=rendered.subject,
            body=rendered.text,
            html_body=rendered.html,
            language=language,
        )

    await run_due(outbox.deps)

    [mail] = outbox.smtp.mailbox.received
    plain, html = mail.message.get_body(("plain",)), mail.message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert mail.message["Subject"] == queued.subject
    # SMTP carries lines ending CRLF; the words are the same.
    assert plain.get_content().replace("\r\n", "\n") == queued.body
    assert html.get_content().replace("\r\n", "\n").strip() == str(queued.html_body).strip()
    assert "Zoë" in plain.get_content()
    assert "Bon anniversaire 🎂" in plain.get_content()
