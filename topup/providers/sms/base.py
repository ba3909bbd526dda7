"""The port to an SMS provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    # The outbox row's id, sent as the provider's idempotency key: a repeat after a crash
    # between the send and its record is the same message to a provider that honours it.
    message_id: str
    to: str  # E.164
    body: str


class SmsSender(Protocol):
    name: str

    async def send(self, sms: OutgoingSms) -> str:
        """Hand ``sms`` to the provider; returns its reference (e.g. Twilio's ``sid``).

        Raises ``DeliveryFailed`` when the provider refused it or could not be reached.
        """
        ...
