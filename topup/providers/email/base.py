"""The port to an email provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    # The outbox row's id: it becomes the Message-ID, the same on every attempt, so a
    # repeat after a crash is recognisably the same message (RFC 5322 §3.6.4).
    message_id: str
    to: str
    subject: str
    text: str
    html: str | None


class EmailSender(Protocol):
    name: str

    async def send(self, email: OutgoingEmail) -> str:
        """Hand ``email`` to the provider; returns its reference for the message.

        Raises ``DeliveryFailed`` when the provider refused it or could not be reached.
        """
        ...
