"""SMS through an HTTP provider in the shape of Twilio's Messages API (``TOPUP_SMS_URL``).

The URL is the account's base, credentials included, e.g.
``https://AC…:token@api.twilio.com/2010-04-01/Accounts/AC…``; a message is a form POST of
``To``, ``From`` and ``Body`` to ``{base}/Messages.json`` under HTTP basic auth, answered
201 with the message's ``sid``.

Every attempt of one outbox row sends the same ``Idempotency-Key``, so a provider that
honours it (as Telnyx's and many gateways' APIs do) creates one message however often a
crash makes us repeat the call. Twilio itself documents message creation as not
idempotent; with it, a crash in the instant between its answer and our record repeats the
SMS, which is why that instant is kept as short as one database write.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from topup.providers.delivery import DeliveryFailed
from topup.providers.sms.base import OutgoingSms

# Answers that say "later" rather than "never": throttling, a request timeout, an
# idempotency key still in flight, and credentials the operator has yet to fix.
TRANSIENT_STATUSES = {401, 403, 408, 409, 429}


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without its user info, and that user info as basic-auth credentials. A
    query or fragment has no place in the base of a REST resource and is dropped."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("TOPUP_SMS_URL must be an http(s) URL")
    netloc = parts.netloc.rpartition("@")[2]  # keeps an IPv6 host's brackets and the port
    bare = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    if parts.username is None:
        return bare, None
    return bare, (unquote(parts.username), unquote(parts.password or ""))


class HttpSmsSender:
    name = "http"

    def __init__(
        self,
        url: str,
        *,
        sender: str,
        timeout_seconds: float = 15.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.endpoint, auth = split_credentials(url)
        self.endpoint += "/Messages.json"
        self.sender = sender
        self.client = client or httpx.AsyncClient(auth=auth, timeout=timeout_seconds)

    async def send(self, sms: OutgoingSms) -> str:
        try:
            response = await self.client.post(
                self.endpoint,
                data={"To": sms.to, "From": self.sender, "Body": sms.body},
                headers={"Idempotency-Key": sms.message_id},
            )
        except httpx.HTTPError as error:
            raise DeliveryFailed(
                f"SMS provider unreachable: {type(error).__name__}", permanent=False
            ) from None
        if response.is_success:  # any 2xx: the provider has the message
            return _sid(response)
        permanent = response.status_code < 500 and response.status_code not in TRANSIENT_STATUSES
        raise DeliveryFailed(
            f"SMS provider {response.status_code}: {_reason(response)}", permanent=permanent
        )

    async def close(self) -> None:
        await self.client.aclose()


def _sid(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    sid = body.get("sid") if isinstance(body, dict) else None
    if not isinstance(sid, str) or not sid:
        # Taken, but not named: the message exists, so it must not be sent again.
        return "unnamed"
    return sid


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:120]
    if isinstance(body, dict):
        return f"{body.get('code')} {body.get('message')}"[:160]
    return str(body)[:120]
