"""What every message provider (email or SMS) answers when a send does not go through.

The outbox worker decides from it alone: a transient failure is tried again later with
back-off, a permanent one ends the message as dead at once (trying an unknown address
again would only fail again).
"""

from __future__ import annotations


class DeliveryFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
