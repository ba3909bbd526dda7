"""The SMTP email sender against a real SMTP server on loopback.

Covered: ``SmtpServer.from_url`` (schemes, default ports, the starttls modes, encoded
credentials, refusals); what a sent ``OutgoingEmail`` looks like in the mailbox (headers,
a stable Message-ID, text and HTML alternatives, non-ASCII text); STARTTLS with AUTH
against a test CA; and which failures are tried again later (``permanent=False``) or end
the message (``permanent=True``).
"""

from __future__ import annotations

import socket
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from tests.fixtures.smtp_server import SMTP_PASSWORD, SMTP_USER, RunningSmtp, TlsPair
from topup.kit import clock
from topup.providers.delivery import DeliveryFailed
from topup.providers.email.base import OutgoingEmail
from topup.providers.email.smtp import SmtpEmailSender, SmtpServer

SENDER = "Topup <noreply@topup.example>"
RECEIPT = OutgoingEmail(
    message_id="out-0001",
    to="ada@example.com",
    subject="Your top-up arrived",
    text="Your top-up of EUR 10.00 arrived.",
    html="<p>Your top-up of <b>€10.00</b> arrived.</p>",
)


def sender_for(url: str, ca_file: str | None = None) -> SmtpEmailSender:
    return SmtpEmailSender(
        SmtpServer.from_url(url, timeout_seconds=5), sender=SENDER, ca_file=ca_file
    )


def plain_sender(smtp: RunningSmtp) -> SmtpEmailSender:
    return sender_for(f"smtp://{smtp.host}:{smtp.port}")


def closed_port() -> int:
    """A loopback port nothing listens on (bound for a moment, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def failure_of(sender: SmtpEmailSender, email: OutgoingEmail = RECEIPT) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as failed:
        await sender.send(email)
    return failed.value


def test_a_plain_smtp_url_defaults_to_the_submission_port_and_upgrades_when_offered() -> None:
    server = SmtpServer.from_url("smtp://relay.example")
    assert (server.host, server.port) == ("relay.example", 587)
    assert (server.implicit_tls, server.start_tls) == (False, None)
    assert (server.username, server.password) == (None, None)
    assert server.timeout_seconds == 30.0


@pytest.mark.parametrize(("mode", "start_tls"), [("required", True), ("off", False)])
def test_the_starttls_parameter_requires_or_forbids_the_upgrade(mode: str, start_tls: bool) -> None:
    server = SmtpServer.from_url(f"smtp://relay.example:2525?starttls={mode}")
    assert server.port == 2525
    assert server.start_tls is start_tls


def test_an_smtps_url_speaks_tls_from_the_first_byte_on_port_465() -> None:
    server = SmtpServer.from_url("smtps://relay.example", timeout_seconds=5)
    assert server.port == 465
    assert (server.implicit_tls, server.start_tls) == (True, False)
    assert server.timeout_seconds == 5


def test_percent_encoded_credentials_are_decoded() -> None:
    server = SmtpServer.from_url("smtp://mailer%40topup.example:p%40ss%3Aword%2F1@relay.example")
    assert server.username == "mailer@topup.example"
    assert server.password == "p@ss:word/1"


@pytest.mark.parametrize(
    "url",
    [
        "http://relay.example",
        "smtp+tls://relay.example",
        "smtp://",
        "relay.example:587",
        "smtp://relay.example?starttls=yes",
    ],
)
def test_a_bad_scheme_host_or_starttls_value_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="TOPUP_SMTP_URL"):
        SmtpServer.from_url(url)


async def test_a_sent_email_arrives_with_its_headers_and_both_alternatives(
    smtp_server: RunningSmtp,
) -> None:
    reference = await plain_sender(smtp_server).send(RECEIPT)

    [mail] = smtp_server.mailbox.received
    assert (mail.mail_from, mail.rcpt_tos) == ("noreply@topup.example", ["ada@example.com"])
    message = mail.message
    assert message["From"] == SENDER
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Your top-up arrived"
    assert message["Message-ID"] == "<out-0001@topup.example>"
    assert reference == "<out-0001@topup.example>"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    assert text.get_content_type() == "text/plain"
    assert text.get_content().strip() == RECEIPT.text
    assert html.get_content_type() == "text/html"
    assert html.get_content().strip() == RECEIPT.html


async def test_the_date_header_is_the_service_clock(smtp_server: RunningSmtp) -> None:
    clock.advance(timedelta(days=3).total_seconds())
    await plain_sender(smtp_server).send(RECEIPT)

    [mail] = smtp_server.mailbox.received
    sent_at = parsedate_to_datetime(mail.message["Date"])
    assert abs(sent_at - clock.now()) < timedelta(seconds=30)


async def test_an_email_without_html_is_plain_text_only(smtp_server: RunningSmtp) -> None:
    text_only = OutgoingEmail("out-0002", "ada@example.com", "Code", "Your code is 123456.", None)
    await plain_sender(smtp_server).send(text_only)

    [mail] = smtp_server.mailbox.received
    assert mail.message.get_content_type() == "text/plain"
    assert not mail.message.is_multipart()
    assert mail.message.get_content().strip() == "Your code is 123456."


async def test_french_subject_and_body_arrive_intact(smtp_server: RunningSmtp) -> None:
    subject = "Reçu : 1 000 FCFA envoyés"
    text = "Bonjour Zoé, votre recharge de 1\u202f000\xa0F\u202fCFA a été envoyée à Dakar. 🎉"
    html = f"<p>{text}</p>"
    await plain_sender(smtp_server).send(
        OutgoingEmail("out-0003", "zoe@example.sn", subject, text, html)
    )

    [mail] = smtp_server.mailbox.received
    assert mail.message["Subject"] == subject
    plain, rich = mail.message.iter_parts()
    assert isinstance(plain, EmailMessage)
    assert isinstance(rich, EmailMessage)
    assert plain.get_content().strip() == text
    assert rich.get_content().strip() == html


async def test_two_sends_of_one_email_carry_the_same_message_id(smtp_server: RunningSmtp) -> None:
    sender = plain_sender(smtp_server)
    first = await sender.send(RECEIPT)
    second = await sender.send(RECEIPT)

    assert first == second == "<out-0001@topup.example>"
    assert [mail.message["Message-ID"] for mail in smtp_server.mailbox.received] == [first, first]


def test_a_sender_without_a_domain_names_its_message_ids_after_topup_invalid() -> None:
    """TOPUP_MAIL_FROM is a free string; one with no domain falls back to topup.invalid."""
    sender = SmtpEmailSender(SmtpServer.from_url("smtp://relay.example"), sender="Topup")
    assert sender.build(RECEIPT)["Message-ID"] == "<out-0001@topup.invalid>"


@pytest.mark.parametrize("query", ["?starttls=required", ""], ids=["required", "auto"])
async def test_starttls_and_auth_deliver_with_the_relays_ca(
    smtp_server_tls_auth: RunningSmtp, smtp_tls: TlsPair, query: str
) -> None:
    relay = smtp_server_tls_auth
    url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{relay.port}{query}"
    reference = await sender_for(url, ca_file=str(smtp_tls.ca_pem)).send(RECEIPT)

    [mail] = relay.mailbox.received
    assert mail.message["Message-ID"] == reference == "<out-0001@topup.example>"


async def test_a_wrong_password_is_tried_again_later(
    smtp_server_tls_auth: RunningSmtp, smtp_tls: TlsPair
) -> None:
    url = f"smtp://{SMTP_USER}:wrong-pass@127.0.0.1:{smtp_server_tls_auth.port}?starttls=required"
    failure = await failure_of(sender_for(url, ca_file=str(smtp_tls.ca_pem)))

    assert failure.permanent is False
    assert "535" in failure.reason
    assert smtp_server_tls_auth.mailbox.received == []


@pytest.mark.parametrize(
    "url",
    [
        "smtp://127.0.0.1:{port}?starttls=required",
        "smtp://127.0.0.1:{port}?starttls=off",
    ],
    ids=["no-credentials", "starttls-off"],
)
async def test_a_relay_refusing_our_session_setup_is_tried_again_later(
    smtp_server_tls_auth: RunningSmtp, smtp_tls: TlsPair, url: str
) -> None:
    """530 (RFC 4954 "authentication required", RFC 3207 "STARTTLS first") is about our
    configuration, like a wrong password, not about the message or its recipient."""
    sender = sender_for(url.format(port=smtp_server_tls_auth.port), ca_file=str(smtp_tls.ca_pem))
    failure = await failure_of(sender)

    assert "530" in failure.reason
    assert failure.permanent is False


async def test_starttls_required_by_us_but_not_offered_is_tried_again_later(
    smtp_server: RunningSmtp,
) -> None:
    url = f"smtp://{smtp_server.host}:{smtp_server.port}?starttls=required"
    failure = await failure_of(sender_for(url))

    assert failure.permanent is False
    assert smtp_server.mailbox.received == []


async def test_a_451_refusal_is_tried_again_later(smtp_server: RunningSmtp) -> None:
    smtp_server.mailbox.refuse_next(1, code=451)
    failure = await failure_of(plain_sender(smtp_server))

    assert failure.permanent is False
    assert "451" in failure.reason
    assert smtp_server.mailbox.received == []


async def test_a_550_refusal_ends_the_message(smtp_server: RunningSmtp) -> None:
    smtp_server.mailbox.refuse_next(1, code=550)
    failure = await failure_of(plain_sender(smtp_server))

    assert failure.permanent is True
    assert "550" in failure.reason


async def test_a_refused_email_goes_through_on_the_next_attempt(smtp_server: RunningSmtp) -> None:
    smtp_server.mailbox.refuse_next(1, code=451)
    sender = plain_sender(smtp_server)
    await failure_of(sender)
    await sender.send(RECEIPT)

    assert smtp_server.mailbox.refused == 1
    assert len(smtp_server.mailbox.received) == 1


async def test_a_relay_nobody_answers_at_is_tried_again_later() -> None:
    failure = await failure_of(sender_for(f"smtp://127.0.0.1:{closed_port()}"))

    assert failure.permanent is False
    assert failure.reason.startswith("SMTP unreachable")
