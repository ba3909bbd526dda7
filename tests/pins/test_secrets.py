"""A PIN is never logged, and the outbox forgets it once delivered: PIN orders bought and
delivered (at once, and after a pending status check), a refund previewed, and the receipt
and SMS handed to real providers (an SMTP server, a Twilio-shaped SMS API), with every log
at DEBUG and every SQL statement echoed; then the whole log is searched for each PIN and
serial, and the outbox rows for their text. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import settings_for
from tests.fixtures.sms_provider import RunningSmsProvider
from tests.fixtures.smtp_server import RunningSmtp
from tests.pins.conftest import CALLING_CARD, DELIVERED, LATER, VOUCHER, MakeBuyer, bought
from tests.refunds.conftest import preview, refund_body
from topup.config import Settings
from topup.notifications.models import MessageStatus, OutboundMessage
from topup.notifications.tasks import NotificationDeps, run_due
from topup.providers.email.smtp import SmtpEmailSender, SmtpServer
from topup.providers.sms.http import HttpSmsSender
from topup.runtime import Runtime, build_runtime

PIN_KINDS = ("pin_delivered", "pin_received")
# The fake SMTP server runs in this process and logs what it receives, as a mailbox would
# keep it: that is the delivery, not Topup's log.
THE_TESTS_OWN_SERVERS = frozenset({"mail.log"})


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, log_level="DEBUG", database_echo=True)


@pytest.fixture
async def runtime(
    settings: Settings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Runtime]:
    """The service's own runtime, its engine built as `topup serve` builds it: every SQL
    statement echoed (TOPUP_DATABASE_ECHO), at DEBUG. ``engine`` has made the schema."""
    caplog.set_level(logging.DEBUG)
    built = build_runtime(settings)
    yield built
    await built.close()


async def test_pins_stay_out_of_the_logs_and_leave_the_outbox_once_delivered(
    client: httpx.AsyncClient,
    runtime: Runtime,
    pin_buyer: MakeBuyer,
    smtp_server: RunningSmtp,
    sms_provider: RunningSmsProvider,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    buyer = await pin_buyer()
    orders = [
        await bought(client, runtime, buyer, VOUCHER, DELIVERED),
        await bought(client, runtime, buyer, CALLING_CARD, "+2348031234568"),
        await bought(client, runtime, buyer, VOUCHER, LATER),
    ]
    await preview(client, buyer.headers, refund_body(orders[1]["id"], reason="changed_mind"))
    sms = HttpSmsSender(sms_provider.url_with_credentials, sender="Topup")
    email = SmtpEmailSender(
        SmtpServer.from_url(f"smtp://{smtp_server.host}:{smtp_server.port}", timeout_seconds=5),
        sender="Topup <receipts@topup.example>",
    )
    try:
        while await run_due(NotificationDeps(runtime.session_factory, email, sms)):
            pass
    finally:
        await sms.close()

    secrets = {
        value for order in orders for value in (order["pin"]["code"], order["pin"]["serial"])
    }
    assert len(secrets) == 6
    # They were delivered: every code reached the buyer's mailbox and the recipient's phone.
    mails = "\n".join(
        str(mail.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        for mail in smtp_server.mailbox.received
        if mail.rcpt_tos == [buyer.email]
    )
    texts = "\n".join(message["body"] for message in sms_provider.messages)
    for order in orders:
        assert order["pin"]["code"] in mails
        assert order["pin"]["serial"] in mails
        assert order["pin"]["code"] in texts
    # The outbox no longer holds them.
    async with runtime.session_factory() as session:
        rows = (
            await session.scalars(
                select(OutboundMessage).where(OutboundMessage.kind.in_(PIN_KINDS))
            )
        ).all()
    mine = [row for row in rows if row.customer_id == buyer.id]
    assert len(mine) == 6
    for row in mine:
        assert (row.status, row.body, row.html_body) == (MessageStatus.sent, None, None)
    # And no log line ever carried one.
    log = capsys.readouterr().out + "\n".join(
        record.getMessage() + str(record.args)
        for record in caplog.records
        if record.name not in THE_TESTS_OWN_SERVERS
    )
    assert "INSERT INTO order_pins" in log  # the log really is this run's, echoed
    assert "INSERT INTO outbound_messages" in log
    assert sorted(secret for secret in secrets if secret in log) == []
