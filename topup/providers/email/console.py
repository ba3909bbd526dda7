"""The default email sender: the outbox row is the delivery.

With no SMTP server configured, every email stays readable in the outbox (and, outside
production, at ``GET /v1/sandbox/messages``); this sender only logs that it went out.
"""

from __future__ import annotations

import structlog

from topup.providers.email.base import OutgoingEmail

log = structlog.get_logger("topup.email")


class ConsoleEmailSender:
    name = "console"

    async def send(self, email: OutgoingEmail) -> str:
        log.info("email_delivered_to_outbox", message_id=email.message_id, subject=email.subject)
        return f"outbox:{email.message_id}"
