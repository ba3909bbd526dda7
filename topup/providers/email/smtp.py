"""Email over SMTP with aiosmtplib, for ``TOPUP_SMTP_URL``.

The URL says where and how: ``smtp://user:password@host:587`` upgrades with STARTTLS when
the server offers it (``?starttls=required`` refuses to go on without it, ``?starttls=off``
never tries), and ``smtps://host:465`` speaks TLS from the first byte. A private relay's
certificate authority can be trusted with ``TOPUP_SMTP_CA_FILE``.

SMTP has no idempotency key. What it has is the Message-ID: every attempt of one outbox
row carries the same one, so if a process dies after the server took the message but
before the outbox recorded it, the repeat is the same message to every mailbox that
collapses duplicates by Message-ID, and is recognisably one to a person reading both.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from topup.kit import clock
from topup.providers.delivery import DeliveryFailed
from topup.providers.email.base import OutgoingEmail

STARTTLS_MODES = {"auto": None, "required": True, "off": False}
# RFC 4954 and 3207: authentication or TLS required (530), a password to change (534),
# wrong credentials (535), a stronger mechanism needed (538).
SESSION_REFUSALS = frozenset({530, 534, 535, 538})


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    start_tls: bool | None  # None: upgrade when the server offers it
    timeout_seconds: float

    @classmethod
    def from_url(cls, url: str, *, timeout_seconds: float = 30.0) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("TOPUP_SMTP_URL must look like smtp://user:pass@host:587")
        query = parse_qs(parts.query)
        mode = query.get("starttls", ["auto"])[-1]
        if mode not in STARTTLS_MODES:
            raise ValueError("starttls in TOPUP_SMTP_URL is one of auto, required, off")
        implicit_tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit_tls else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit_tls,
            start_tls=False if implicit_tls else STARTTLS_MODES[mode],
            timeout_seconds=timeout_seconds,
        )


class SmtpEmailSender:
    name = "smtp"

    def __init__(self, server: SmtpServer, *, sender: str, ca_file: str | None = None) -> None:
        self.server = server
        self.sender = sender
        _, address = parseaddr(sender)
        _, at, domain = address.rpartition("@")
        self.domain = domain if at and domain else "topup.invalid"
        self.tls_context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    def build(self, email: OutgoingEmail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = Address(addr_spec=email.to)
        message["Subject"] = email.subject
        message["Date"] = format_datetime(clock.now())
        message["Message-ID"] = f"<{email.message_id}@{self.domain}>"
        message.set_content(email.text)
        if email.html is not None:
            message.add_alternative(email.html, subtype="html")
        return message

    async def send(self, email: OutgoingEmail) -> str:
        try:
            message = self.build(email)
        except (ValueError, TypeError) as error:  # an address email can't write in a header
            raise DeliveryFailed(f"unsendable: {error}"[:200], permanent=True) from None
        try:
            await aiosmtplib.send(
                message,
                hostname=self.server.host,
                port=self.server.port,
                username=self.server.username,
                password=self.server.password,
                use_tls=self.server.implicit_tls,
                start_tls=self.server.start_tls,
                tls_context=self.tls_context,
                timeout=self.server.timeout_seconds,
            )
        except aiosmtplib.SMTPNotSupported as error:
            # e.g. an address beyond ASCII to a server without SMTPUTF8: it never will be.
            raise DeliveryFailed(f"SMTP cannot: {error}"[:200], permanent=True) from None
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [recipient.code for recipient in refused.recipients]
            raise DeliveryFailed(
                f"recipient refused: {codes}", permanent=all(code >= 500 for code in codes)
            ) from None
        except aiosmtplib.SMTPResponseException as error:
            # A 5xx about the session (log in first, STARTTLS first, bad credentials) blames
            # our settings, not the message: keep it for when they are fixed.
            permanent = 500 <= error.code < 600 and error.code not in SESSION_REFUSALS
            raise DeliveryFailed(
                f"SMTP {error.code}: {error.message}", permanent=permanent
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryFailed(
                f"SMTP unreachable: {type(error).__name__}", permanent=False
            ) from None
        return str(message["Message-ID"])
