"""``DELETE /v1/me``: the password is asked for, personal data is erased, every session
ends, and the same phone and email can open a new account."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts.conftest import RateLimits
from tests.accounts.helpers import (
    PASSWORD,
    Account,
    assert_error,
    assert_retry_after,
    delete_me,
    forgot,
    load,
    load_all,
    log_in,
    me,
    messages,
    open_account,
    post_login,
    reset,
    reset_token,
    sign_up,
    verify,
)
from topup.accounts.models import (
    AccessToken,
    Customer,
    CustomerStatus,
    PasswordReset,
    PhoneVerification,
)
from topup.accounts.policy import Limits
from topup.notifications.models import OutboundMessage
from topup.notifications.tasks import NotificationDeps, run_due
from topup.providers.delivery import DeliveryFailed
from topup.providers.email.base import OutgoingEmail
from topup.runtime import Runtime


async def test_a_wrong_password_deletes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    account = await open_account(client)

    response = await delete_me(client, account.token, "not my password")

    assert_error(response, 401, "invalid_credentials", "password")
    stored = await load(engine, Customer, account.id)
    assert stored is not None
    assert (stored.status, stored.email) == (CustomerStatus.active, account.person.email)
    assert (await me(client, account.token)).status_code == 200


async def test_deletion_needs_a_password_and_a_token(client: httpx.AsyncClient) -> None:
    account = await open_account(client)

    no_body = await client.request(
        "DELETE", "/v1/me", headers={"Authorization": f"Bearer {account.token}"}
    )
    no_token = await client.request("DELETE", "/v1/me", json={"password": PASSWORD})

    assert_error(no_body, 422, "missing_field")
    assert_error(no_token, 401, "unauthorized")
    assert (await me(client, account.token)).status_code == 200


@pytest.mark.parametrize(
    ("content", "code", "field"),
    [
        (
            b'{"password": "correct horse battery", "keep_orders": false}',
            "invalid_field",
            "keep_orders",
        ),
        (b'{"password": 1234567890}', "invalid_field", "password"),
        (b'{"password": "correct horse', "invalid_json", None),
        (b"{}", "missing_field", "password"),
    ],
)
async def test_a_malformed_deletion_is_named_and_deletes_nothing(
    client: httpx.AsyncClient, content: bytes, code: str, field: str | None
) -> None:
    account = await open_account(client)

    response = await client.request(
        "DELETE",
        "/v1/me",
        content=content,
        headers={"Authorization": f"Bearer {account.token}", "Content-Type": "application/json"},
    )

    assert_error(response, 422, code, field)
    assert (await me(client, account.token)).status_code == 200


async def deleted(client: httpx.AsyncClient) -> tuple[Account, str]:
    """An account with a pending reset link and a second session, then deleted; returns
    it and that second session's token."""
    account = await open_account(client)
    second_session = await log_in(client, account.person.phone)
    await forgot(client, account.person.email)
    response = await delete_me(client, account.token, PASSWORD)
    assert response.status_code == 204, response.text
    assert response.content == b""
    return account, second_session


async def test_deletion_erases_the_personal_data(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    account, _ = await deleted(client)

    stored = await load(engine, Customer, account.id)

    assert stored is not None  # the row stays, anonymous, for the orders that point at it
    assert stored.status == CustomerStatus.deleted
    assert stored.deleted_at is not None
    personal = (
        stored.first_name,
        stored.last_name,
        stored.email,
        stored.email_key,
        stored.phone,
        stored.password_hash,
        stored.block_reason,
    )
    assert personal == (None,) * 7
    codes = select(PhoneVerification).where(PhoneVerification.customer_id == account.id)
    links = select(PasswordReset).where(PasswordReset.customer_id == account.id)
    assert await load_all(engine, codes) == []
    assert await load_all(engine, links) == []


async def test_deletion_empties_the_accounts_messages(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    account, _ = await deleted(client)

    rows = await load_all(
        engine, select(OutboundMessage).where(OutboundMessage.customer_id == account.id)
    )
    earlier = [row for row in rows if row.kind != "account_deleted"]

    assert len(earlier) >= 2  # the SMS code and the reset email at least
    assert {(row.recipient, row.subject, row.body, row.html_body) for row in earlier} == {
        (None, None, None, None)
    }
    assert await messages(client, account.person.phone) == []
    goodbye = await messages(client, account.person.email)
    assert [message["kind"] for message in goodbye] == ["account_deleted"]
    assert goodbye[0]["subject"] == "Your Topup account is deleted"
    assert "Hello Ada," in goodbye[0]["body"]


async def test_the_goodbye_email_keeps_the_address_only_until_it_is_sent(
    client: httpx.AsyncClient, engine: AsyncEngine, runtime: Runtime
) -> None:
    account, _ = await deleted(client)

    while await run_due(runtime.notification_deps()):  # the shared outbox may hold more
        pass

    rows = await load_all(
        engine, select(OutboundMessage).where(OutboundMessage.customer_id == account.id)
    )
    goodbye = [row for row in rows if row.kind == "account_deleted"]
    assert [row.status for row in goodbye] == ["sent"]
    assert {(row.recipient, row.subject, row.body, row.html_body) for row in rows} == {
        (None, None, None, None)
    }
    assert await messages(client, account.person.email) == []


async def test_deletion_ends_every_session_and_login(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    account, second_session = await deleted(client)

    for token in (account.token, second_session):
        assert_error(await me(client, token), 401, "unauthorized")
    rows = await load_all(engine, select(AccessToken).where(AccessToken.customer_id == account.id))
    assert len(rows) == 2
    assert all(row.revoked_at is not None for row in rows)
    for login in (account.person.email, account.person.phone):
        assert_error(await post_login(client, login, PASSWORD), 401, "invalid_credentials", "login")


async def test_a_deleted_account_gets_no_reset_email_and_old_links_are_dead(
    client: httpx.AsyncClient,
) -> None:
    account = await open_account(client)
    await forgot(client, account.person.email)
    token = await reset_token(client, account.person.email)
    assert (await delete_me(client, account.token, PASSWORD)).status_code == 204

    assert (await forgot(client, account.person.email)).status_code == 202

    sent = await messages(client, account.person.email)
    assert [message["kind"] for message in sent] == ["account_deleted"]  # and no reset
    assert_error(await reset(client, token, "a brand new password"), 400, "invalid_token", "token")


async def test_the_same_phone_and_email_can_open_a_new_account(
    client: httpx.AsyncClient, engine: AsyncEngine, rate_limits: RateLimits
) -> None:
    account, _ = await deleted(client)
    await rate_limits.let_pass(Limits.code_per_phone, account.person.phone)  # a minute later
    again = account.person.but(password="a fresh start, again")

    customer = await sign_up(client, again)

    assert customer["id"] != account.id
    stored = await load(engine, Customer, customer["id"])
    assert stored is not None  # a real account, not the decoy a taken address gets
    assert (stored.phone, stored.email) == (account.person.phone, account.person.email)
    assert (await verify(client, again))["id"] == customer["id"]
    token = await log_in(client, again.email, again.password)
    assert (await me(client, token)).json()["customer"]["id"] == customer["id"]
    assert (await post_login(client, again.email, PASSWORD)).status_code == 401


async def test_an_unverified_account_can_be_deleted(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    account = await open_account(client, verified=False)

    assert (await delete_me(client, account.token, PASSWORD)).status_code == 204

    stored = await load(engine, Customer, account.id)
    assert stored is not None
    assert (stored.status, stored.phone) == (CustomerStatus.deleted, None)


async def test_password_guessing_on_deletion_stops_at_five(client: httpx.AsyncClient) -> None:
    account = await open_account(client)
    for attempt in range(5):
        response = await delete_me(client, account.token, f"guess number {attempt}")
        assert_error(response, 401, "invalid_credentials", "password")

    sixth = await delete_me(client, account.token, PASSWORD)

    assert_retry_after(sixth, at_most=15 * 60)
    assert (await me(client, account.token)).status_code == 200


async def test_a_goodbye_email_that_cannot_be_delivered_keeps_nothing_either(
    client: httpx.AsyncClient, engine: AsyncEngine, runtime: Runtime
) -> None:
    """A mailbox closed with the account answers 550: the message ends dead, and erased."""
    account, _ = await deleted(client)
    deps = runtime.notification_deps()
    refusing = NotificationDeps(deps.session_factory, Refusing(), deps.sms)

    while await run_due(refusing):
        pass

    rows = await load_all(
        engine, select(OutboundMessage).where(OutboundMessage.customer_id == account.id)
    )
    [goodbye] = [row for row in rows if row.kind == "account_deleted"]
    assert goodbye.status == "dead"
    assert (goodbye.recipient, goodbye.body, goodbye.html_body, goodbye.last_error) == (
        None,
        None,
        None,
        None,
    )


class Refusing:
    name = "refusing"

    async def send(self, email: OutgoingEmail) -> str:
        raise DeliveryFailed(f"550 5.1.1 <{email.to}>: mailbox unavailable", permanent=True)
