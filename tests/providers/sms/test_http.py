"""The HTTP SMS sender against a running stand-in for Twilio's Messages API.

Covered: ``split_credentials`` (user info out of the URL and into basic auth, trailing
slashes, refused schemes); a send (the form, basic auth, the ``Idempotency-Key``, the
returned ``sid``); a repeated send making one message; and which failures are tried again
later (``permanent=False``) or end the message (``permanent=True``).
"""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tests.fixtures.sms_provider import FailureStatus, RunningSmsProvider
from topup.providers.delivery import DeliveryFailed
from topup.providers.sms.base import OutgoingSms
from topup.providers.sms.http import HttpSmsSender, split_credentials

FROM = "+15005550006"
RECEIPT = OutgoingSms(
    message_id="out-0001", to="+221771234567", body="Reçu : 1 000 FCFA envoyés au +221 77 123 45 67"
)

MakeSender = Callable[[str], HttpSmsSender]


@pytest.fixture
async def make_sender() -> AsyncIterator[MakeSender]:
    """Senders for any URL, each closed when the test ends."""
    made: list[HttpSmsSender] = []

    def make(url: str) -> HttpSmsSender:
        made.append(HttpSmsSender(url, sender=FROM, timeout_seconds=5))
        return made[-1]

    yield make
    for sender in made:
        await sender.close()


@pytest.fixture
def sender(sms_provider: RunningSmsProvider, make_sender: MakeSender) -> HttpSmsSender:
    return make_sender(sms_provider.url_with_credentials)


def closed_port() -> int:
    """A loopback port nothing listens on (bound for a moment, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def failure_of(sender: HttpSmsSender, sms: OutgoingSms = RECEIPT) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as failed:
        await sender.send(sms)
    return failed.value


def test_credentials_leave_the_url_and_become_basic_auth() -> None:
    url = "https://AC123:s3cret@api.twilio.com/2010-04-01/Accounts/AC123/"
    assert split_credentials(url) == (
        "https://api.twilio.com/2010-04-01/Accounts/AC123",
        ("AC123", "s3cret"),
    )


def test_percent_encoded_credentials_are_decoded_and_the_port_kept() -> None:
    url = "http://user%40corp:p%3Ass%2Fw@127.0.0.1:8080/sms/"
    assert split_credentials(url) == ("http://127.0.0.1:8080/sms", ("user@corp", "p:ss/w"))


def test_a_url_without_user_info_has_no_credentials() -> None:
    assert split_credentials("https://sms.example/v1") == ("https://sms.example/v1", None)


def test_an_ipv6_host_keeps_its_brackets() -> None:
    assert split_credentials("http://u:p@[::1]:8080/sms") == ("http://[::1]:8080/sms", ("u", "p"))


@pytest.mark.parametrize(
    "url", ["ftp://sms.example/v1", "smtp://sms.example", "sms.example/v1", "https:///v1"]
)
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="TOPUP_SMS_URL"):
        split_credentials(url)


async def test_a_send_creates_one_message_and_returns_its_sid(
    sms_provider: RunningSmsProvider, sender: HttpSmsSender
) -> None:
    sid = await sender.send(RECEIPT)

    [message] = sms_provider.messages
    assert sid == message["sid"]
    assert sid.startswith("SM")
    assert (message["to"], message["from"], message["body"]) == (RECEIPT.to, FROM, RECEIPT.body)


async def test_the_request_carries_basic_auth_the_form_and_the_idempotency_key(
    sms_provider: RunningSmsProvider, sender: HttpSmsSender
) -> None:
    await sender.send(RECEIPT)

    [request] = sms_provider.requests
    credentials = f"{sms_provider.account_sid}:{sms_provider.auth_token}".encode()
    assert request.headers["authorization"] == "Basic " + base64.b64encode(credentials).decode()
    assert request.headers["idempotency-key"] == "out-0001"
    assert request.path == f"/2010-04-01/Accounts/{sms_provider.account_sid}/Messages.json"
    assert request.form == {"To": RECEIPT.to, "From": FROM, "Body": RECEIPT.body}


async def test_the_same_sms_sent_twice_is_one_message_with_one_sid(
    sms_provider: RunningSmsProvider, sender: HttpSmsSender
) -> None:
    first = await sender.send(RECEIPT)
    second = await sender.send(RECEIPT)

    assert first == second
    assert [message["sid"] for message in sms_provider.messages] == [first]
    assert len(sms_provider.requests) == 2


async def test_an_invalid_number_ends_the_message(
    sms_provider: RunningSmsProvider, sender: HttpSmsSender
) -> None:
    failure = await failure_of(sender, OutgoingSms("out-0002", "12345", "Hello"))

    assert failure.permanent is True
    assert "400" in failure.reason
    assert "21211" in failure.reason
    assert sms_provider.messages == []


@pytest.mark.parametrize("credentials", ["wrong", "none"])
async def test_refused_credentials_are_tried_again_later(
    sms_provider: RunningSmsProvider, make_sender: MakeSender, credentials: str
) -> None:
    if credentials == "wrong":
        url = sms_provider.url_with_credentials.replace(sms_provider.auth_token, "not-the-token")
    else:
        url = sms_provider.base_url
    failure = await failure_of(make_sender(url))

    assert failure.permanent is False
    assert "401" in failure.reason
    assert "20003" in failure.reason
    assert sms_provider.messages == []


@pytest.mark.parametrize("status", [500, 429])
async def test_a_provider_outage_or_throttle_is_tried_again_later(
    sms_provider: RunningSmsProvider, sender: HttpSmsSender, status: FailureStatus
) -> None:
    sms_provider.fail_next(1, status=status)
    failure = await failure_of(sender)

    assert failure.permanent is False
    assert str(status) in failure.reason
    assert sms_provider.messages == []


async def test_the_next_attempt_after_an_outage_goes_through(
    sms_provider: RunningSmsProvider, sender: HttpSmsSender
) -> None:
    sms_provider.fail_next(1, status=500)
    await failure_of(sender)
    sid = await sender.send(RECEIPT)

    assert [message["sid"] for message in sms_provider.messages] == [sid]


async def test_a_provider_nobody_answers_at_is_tried_again_later(make_sender: MakeSender) -> None:
    url = f"http://AC1:token@127.0.0.1:{closed_port()}/2010-04-01/Accounts/AC1"
    failure = await failure_of(make_sender(url))

    assert failure.permanent is False
    assert failure.reason.startswith("SMS provider unreachable")


@pytest.mark.parametrize(
    ("status", "content", "reference"),
    [
        (201, b'{"sid": "SM123"}', "SM123"),
        (202, b'{"sid": "SM456"}', "SM456"),  # any 2xx: the provider has the message
        (201, b"[1, 2]", "unnamed"),
        (201, b"null", "unnamed"),
        (200, b"not json", "unnamed"),
        (201, b'{"sid": 7}', "unnamed"),
    ],
)
async def test_an_accepted_message_counts_as_sent_whatever_the_body_says(
    status: int, content: bytes, reference: str
) -> None:
    """Once the provider has the message, an odd answer must not make the worker send it
    again: only the reference is lost."""
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=content))
    sender = HttpSmsSender(
        "https://AC1:token@sms.example/2010-04-01/Accounts/AC1",
        sender="Topup",
        client=httpx.AsyncClient(transport=transport),
    )
    try:
        answer = await sender.send(OutgoingSms(message_id="msg_1", to="+2348031234567", body="x"))
    finally:
        await sender.close()

    assert answer == reference
