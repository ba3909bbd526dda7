"""The fixture servers behave like the real thing, so the sender tests built on them mean
something: SMTP with refusals, STARTTLS and AUTH; Twilio's Messages API with its errors,
an idempotency key and injected outages."""

from __future__ import annotations

import asyncio
import re
import smtplib
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest

from tests.fixtures import sms_provider as sms_fixtures
from tests.fixtures import smtp_server as smtp_fixtures
from tests.fixtures.sms_provider import RunningSmsProvider, num_segments, start_sms_provider
from tests.fixtures.smtp_server import SMTP_PASSWORD, SMTP_USER, RunningSmtp, TlsPair

# The fixtures, under the names the tests ask for.
smtp_tls = smtp_fixtures.smtp_tls
smtp_server = smtp_fixtures.smtp_server
smtp_server_tls_auth = smtp_fixtures.smtp_server_tls_auth
sms_provider = sms_fixtures.sms_provider

TO = "+447911123456"
FROM = "+15005550006"


def a_message(subject: str = "Your top-up") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Topup <noreply@topup.example>"
    message["To"] = "ada@example.com"
    message["Subject"] = subject
    message.set_content("Your top-up of €10 arrived.")
    return message


def send_plain(smtp: RunningSmtp, message: EmailMessage) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
        client.send_message(message)


def send_tls(smtp: RunningSmtp, tls: TlsPair, message: EmailMessage, password: str) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
        client.starttls(context=tls.client_context())
        client.login(SMTP_USER, password)
        client.send_message(message)


async def test_a_plain_server_keeps_the_parsed_message_and_its_envelope(
    smtp_server: RunningSmtp,
) -> None:
    await asyncio.to_thread(send_plain, smtp_server, a_message())

    [mail] = smtp_server.mailbox.received
    assert mail.mail_from == "noreply@topup.example"
    assert mail.rcpt_tos == ["ada@example.com"]
    assert mail.message["Subject"] == "Your top-up"
    assert mail.message.get_content().strip() == "Your top-up of €10 arrived."


async def test_refusals_are_answered_in_order_and_not_kept(smtp_server: RunningSmtp) -> None:
    smtp_server.mailbox.refuse_next(1, code=451)
    smtp_server.mailbox.refuse_next(1, code=550)

    for code, reply in ((451, b"4.3.0 Try again later"), (550, b"5.1.1 No such user")):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(send_plain, smtp_server, a_message())
        assert (refused.value.smtp_code, refused.value.smtp_error) == (code, reply)
    await asyncio.to_thread(send_plain, smtp_server, a_message("third time"))

    assert smtp_server.mailbox.refused == 2
    assert [mail.message["Subject"] for mail in smtp_server.mailbox.received] == ["third time"]


async def test_starttls_and_auth_with_the_test_ca(
    smtp_server_tls_auth: RunningSmtp, smtp_tls: TlsPair
) -> None:
    await asyncio.to_thread(send_tls, smtp_server_tls_auth, smtp_tls, a_message(), SMTP_PASSWORD)

    assert len(smtp_server_tls_auth.mailbox.received) == 1


async def test_a_wrong_password_is_refused(
    smtp_server_tls_auth: RunningSmtp, smtp_tls: TlsPair
) -> None:
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        await asyncio.to_thread(send_tls, smtp_server_tls_auth, smtp_tls, a_message(), "wrong")

    assert refused.value.smtp_code == 535
    assert smtp_server_tls_auth.mailbox.received == []


async def test_nothing_is_accepted_before_starttls(smtp_server_tls_auth: RunningSmtp) -> None:
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await asyncio.to_thread(send_plain, smtp_server_tls_auth, a_message())

    assert refused.value.smtp_code == 530
    assert smtp_server_tls_auth.mailbox.received == []


async def test_aiosmtplib_on_the_test_loop_reaches_the_server_thread(
    smtp_server_tls_auth: RunningSmtp, smtp_tls: TlsPair
) -> None:
    await aiosmtplib.send(
        a_message(),
        hostname=smtp_server_tls_auth.host,
        port=smtp_server_tls_auth.port,
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        start_tls=True,
        tls_context=smtp_tls.client_context(),
        timeout=5,
    )

    assert len(smtp_server_tls_auth.mailbox.received) == 1


async def post(
    provider: RunningSmsProvider,
    form: dict[str, str],
    *,
    key: str | None = None,
    auth: tuple[str, str] | None = None,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    async with httpx.AsyncClient(auth=auth, timeout=5) as http:
        return await http.post(f"{provider.base_url}/Messages.json", data=form, headers=headers)


def credentials(provider: RunningSmsProvider) -> tuple[str, str]:
    return provider.account_sid, provider.auth_token


async def test_a_message_is_created_like_twilio_does(sms_provider: RunningSmsProvider) -> None:
    form = {"To": TO, "From": FROM, "Body": "Your code is 123456."}
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.post(f"{sms_provider.url_with_credentials}/Messages.json", data=form)

    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["account_sid"] == sms_provider.account_sid
    assert (message["to"], message["from"], message["body"]) == (TO, FROM, form["Body"])
    assert (message["status"], message["num_segments"]) == ("queued", "1")
    assert message["error_code"] is None
    assert message["error_message"] is None
    assert message["uri"].endswith(f"/Messages/{message['sid']}.json")
    assert sms_provider.messages == [message]
    [request] = sms_provider.requests
    assert request.form == form
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("€" * 80, 1),  # two septets each: 160
        ("€" * 81, 2),
        ("ç" * 70, 1),  # outside GSM 03.38: UCS-2
        ("ç" * 71, 2),
        ("😀" * 35, 1),  # two UTF-16 units each: 70
        ("ç" * 135, 3),
    ],
)
def test_segments_follow_gsm_and_ucs2_arithmetic(body: str, segments: int) -> None:
    assert num_segments(body) == segments


@pytest.mark.parametrize(
    "auth",
    [None, (sms_fixtures.ACCOUNT_SID, "wrong-token"), ("AC" + "f" * 32, sms_fixtures.AUTH_TOKEN)],
)
async def test_wrong_or_missing_credentials_are_401(
    sms_provider: RunningSmsProvider, auth: tuple[str, str] | None
) -> None:
    response = await post(sms_provider, {"To": TO, "From": FROM, "Body": "hi"}, auth=auth)

    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert response.json()["message"] == "Authenticate"
    assert sms_provider.messages == []
    assert len(sms_provider.requests) == 1


async def test_the_path_account_must_be_the_user() -> None:
    with start_sms_provider(account_sid="AC" + "1" * 32) as other:
        auth = ("AC" + "1" * 32, other.auth_token)
        url = other.base_url.replace("AC" + "1" * 32, "AC" + "2" * 32)
        async with httpx.AsyncClient(auth=auth, timeout=5) as http:
            response = await http.post(f"{url}/Messages.json", data={"To": TO, "Body": "x"})

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"To": "07911123456", "From": FROM, "Body": "hi"}, 21211),
        ({"To": TO, "From": FROM, "Body": ""}, 21602),
        ({"To": TO, "From": FROM, "Body": "x" * 1601}, 21617),
        ({"From": FROM, "Body": "hi"}, 21604),
        ({"To": TO, "Body": "hi"}, 21603),
    ],
)
async def test_invalid_forms_get_twilio_error_codes(
    sms_provider: RunningSmsProvider, form: dict[str, str], code: int
) -> None:
    response = await post(sms_provider, form, auth=credentials(sms_provider))

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert sms_provider.messages == []


async def test_an_invalid_number_is_named_in_the_message(sms_provider: RunningSmsProvider) -> None:
    form = {"To": "+0123", "From": FROM, "Body": "hi"}
    response = await post(sms_provider, form, auth=credentials(sms_provider))

    assert response.json()["message"] == "The 'To' number +0123 is not a valid phone number."


async def test_a_repeat_with_the_same_key_is_the_same_message(
    sms_provider: RunningSmsProvider,
) -> None:
    form = {"To": TO, "From": FROM, "Body": "once"}
    first = await post(sms_provider, form, key="msg_1", auth=credentials(sms_provider))
    again = await post(sms_provider, form, key="msg_1", auth=credentials(sms_provider))
    other = await post(sms_provider, form, key="msg_2", auth=credentials(sms_provider))

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["sid"] != first.json()["sid"]
    assert len(sms_provider.messages) == 2
    assert len(sms_provider.requests) == 3


async def test_a_key_reused_with_other_parameters_is_refused(
    sms_provider: RunningSmsProvider,
) -> None:
    auth = credentials(sms_provider)
    await post(sms_provider, {"To": TO, "From": FROM, "Body": "one"}, key="k", auth=auth)
    response = await post(sms_provider, {"To": TO, "From": FROM, "Body": "two"}, key="k", auth=auth)

    assert response.status_code == 400
    assert len(sms_provider.messages) == 1


async def test_injected_failures_create_nothing_and_a_retry_succeeds(
    sms_provider: RunningSmsProvider,
) -> None:
    sms_provider.fail_next(1, status=500)
    sms_provider.fail_next(1, status=429)
    form, auth = {"To": TO, "From": FROM, "Body": "retry me"}, credentials(sms_provider)

    failed = await post(sms_provider, form, key="msg_9", auth=auth)
    throttled = await post(sms_provider, form, key="msg_9", auth=auth)
    created = await post(sms_provider, form, key="msg_9", auth=auth)

    assert (failed.status_code, failed.json()["code"]) == (500, 20500)
    assert (throttled.status_code, throttled.json()["code"]) == (429, 20429)
    assert throttled.headers["Retry-After"] == "1"
    assert created.status_code == 201
    assert [message["sid"] for message in sms_provider.messages] == [created.json()["sid"]]
    assert len(sms_provider.requests) == 3
