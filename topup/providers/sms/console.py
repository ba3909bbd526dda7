"""The default SMS sender: the outbox row is the delivery (see ``email/console.py``)."""

from __future__ import annotations

import structlog

from topup.providers.sms.base import OutgoingSms

log = structlog.get_logger("topup.sms")


class ConsoleSmsSender:
    name = "console"

    async def send(self, sms: OutgoingSms) -> str:
        log.info("sms_delivered_to_outbox", message_id=sms.message_id)
        return f"outbox:{sms.message_id}"
