"""``GET /v1/sandbox/messages`` over HTTP on both databases, and its absence in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.fixtures.transport import serve
from tests.notifications.support import (
    new_customer,
    production,
    send,
    unique_email,
    unique_phone,
)
from topup.config import Environment, Settings
from topup.kit.db import unit_of_work
from topup.notifications.models import Channel, OutboundMessage
from topup.notifications.repository import MessageRepository
from topup.runtime import Runtime, build_runtime

MESSAGES = "/v1/sandbox/messages"


@dataclass
class Sandbox:
    """An HTTP client on an app, and the sessions of the database behind it."""

    http: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
def shared(client: httpx.AsyncClient, runtime: Runtime) -> Sandbox:
    """The suite's shared database: other tests' messages are there too, so filter by `to`."""
    return Sandbox(client, runtime.session_factory)


@pytest.fixture
async def empty(empty_engine: AsyncEngine) -> AsyncIterator[Sandbox]:
    """An app on a new database that holds only what the test puts in it."""
    settings = Settings(
        env=Environment.test,
        database_url=empty_engine.url.render_as_string(hide_password=False),
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        run_worker=False,  # the test reads the rows as written, not as a worker moves them
    )
    runtime = build_runtime(settings, empty_engine)
    async with serve(settings, runtime) as http:
        yield Sandbox(http, runtime.session_factory)


@pytest.fixture
async def production_client(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    prod = production(settings)
    async with serve(prod, build_runtime(prod, engine)) as http:
        yield http


def listed(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "next_cursor"}
    data: list[dict[str, Any]] = body["data"]
    return data


def as_listed(message: OutboundMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel": message.channel,
        "to": message.recipient,
        "subject": message.subject,
        "body": message.body,
        "html_body": message.html_body,
        "kind": message.kind,
        "language": message.language,
        "status": message.status,
        "segments": message.segments,
        "created_at": message.created_at,
        "sent_at": message.sent_at,
    }


def parsed(item: dict[str, Any]) -> dict[str, Any]:
    """A listed message with its time read back, so times compare as instants."""
    # The contract's fields (API.md), then what Topup adds to them.
    assert set(item) == {"channel", "to", "subject", "body", "created_at"} | {
        "id",
        "html_body",
        "kind",
        "language",
        "status",
        "segments",
        "sent_at",
    }
    return {**item, "created_at": datetime.fromisoformat(item["created_at"])}


async def test_every_message_is_listed_newest_first(empty: Sandbox) -> None:
    phone, email = unique_phone(), unique_email()
    sent = [
        await send(empty.sessions, recipient=phone, body="Your Topup code is 111111."),
        await send(
            empty.sessions,
            channel=Channel.email,
            recipient=email,
            subject="Reset your Topup password",
            body="Open this link.",
        ),
        await send(empty.sessions, recipient=phone, body="Your Topup code is 222222."),
    ]

    data = listed(await empty.http.get(MESSAGES))

    assert [parsed(item) for item in data] == [as_listed(message) for message in reversed(sent)]
    assert data[0]["channel"] == "sms"
    assert data[0]["subject"] is None
    assert (data[1]["channel"], data[1]["to"]) == ("email", email)
    created = [parsed(item)["created_at"] for item in data]
    assert all(moment.tzinfo is not None for moment in created)
    assert created == sorted(created, reverse=True)


async def test_an_empty_outbox_lists_nothing(empty: Sandbox) -> None:
    assert listed(await empty.http.get(MESSAGES)) == []


async def test_fifty_messages_are_listed_by_default(empty: Sandbox) -> None:
    phone = unique_phone()
    sent = [await send(empty.sessions, recipient=phone, body=f"message {n}") for n in range(51)]

    data = listed(await empty.http.get(MESSAGES))

    assert len(data) == 50
    assert [item["body"] for item in data] == [message.body for message in reversed(sent[1:])]


@pytest.mark.parametrize(
    "written",
    [
        "%2B{digits}",  # "+" escaped, as the documentation says
        "{digits}",  # digits alone can only be E.164
        "+{digits}",  # an unescaped "+" arrives as a space
        "%20%2B{digits}%20",  # surrounding spaces are ignored
    ],
)
async def test_messages_are_filtered_by_phone(shared: Sandbox, written: str) -> None:
    phone, other = unique_phone(), unique_phone()
    first = await send(shared.sessions, recipient=phone, body="first")
    await send(shared.sessions, recipient=other, body="someone else's")
    second = await send(shared.sessions, recipient=phone, body="second")

    query = written.format(digits=phone.removeprefix("+"))
    data = listed(await shared.http.get(f"{MESSAGES}?to={query}"))

    assert [parsed(item) for item in data] == [as_listed(second), as_listed(first)]
    assert {item["to"] for item in data} == {phone}


async def test_messages_are_filtered_by_email(shared: Sandbox) -> None:
    email = unique_email()
    await send(shared.sessions, recipient=unique_email(), channel=Channel.email, subject="Other")
    mine = await send(
        shared.sessions, recipient=email, channel=Channel.email, subject="Hello", body="Hi"
    )

    data = listed(await shared.http.get(MESSAGES, params={"to": email}))

    assert [parsed(item) for item in data] == [as_listed(mine)]
    assert data[0]["channel"] == "email"
    assert data[0]["subject"] == "Hello"


async def test_an_unknown_recipient_has_no_messages(shared: Sandbox) -> None:
    data = listed(await shared.http.get(MESSAGES, params={"to": unique_phone()}))

    assert data == []


@pytest.mark.parametrize("limit", [1, 2])
async def test_limit_keeps_the_newest(shared: Sandbox, limit: int) -> None:
    phone = unique_phone()
    sent = [await send(shared.sessions, recipient=phone, body=f"message {n}") for n in range(3)]

    data = listed(await shared.http.get(MESSAGES, params={"to": phone, "limit": limit}))

    assert [item["body"] for item in data] == [message.body for message in reversed(sent)][:limit]


async def test_limit_reaches_two_hundred(empty: Sandbox) -> None:
    phone = unique_phone()
    async with unit_of_work(empty.sessions) as session:  # many messages at once, quickly
        for n in range(201):
            session.add(
                OutboundMessage(
                    id=f"msg_{n:03d}",
                    channel="sms",
                    recipient=phone,
                    body=f"message {n}",
                    kind="test",
                    status="pending",
                    attempts=0,
                    due_at=datetime.fromisoformat(f"2030-01-01T00:{n // 60:02d}:{n % 60:02d}Z"),
                    created_at=datetime.fromisoformat(f"2030-01-01T00:{n // 60:02d}:{n % 60:02d}Z"),
                )
            )

    data = listed(await empty.http.get(MESSAGES, params={"limit": 200}))

    assert len(data) == 200
    assert data[0]["body"] == "message 200"
    assert data[-1]["body"] == "message 1"


@pytest.mark.parametrize("limit", ["0", "201", "-1", "many"])
async def test_a_limit_outside_one_to_two_hundred_is_refused(shared: Sandbox, limit: str) -> None:
    response = await shared.http.get(MESSAGES, params={"limit": limit})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_field"
    assert error["field"] == "limit"
    assert error["message"].startswith("limit: ")


async def test_a_recipient_longer_than_an_email_can_be_is_refused(shared: Sandbox) -> None:
    response = await shared.http.get(MESSAGES, params={"to": "a" * 243 + "@example.com"})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_field"
    assert response.json()["error"]["field"] == "to"


async def test_erased_messages_are_not_listed(empty: Sandbox) -> None:
    erased, kept = await new_customer(empty.sessions), await new_customer(empty.sessions)
    assert erased.phone is not None
    assert kept.phone is not None
    await send(empty.sessions, recipient=erased.phone, customer_id=erased.id, body="erased")
    mine = await send(empty.sessions, recipient=kept.phone, customer_id=kept.id, body="kept")
    await send(empty.sessions, recipient=erased.phone, customer_id=erased.id, body="erased too")
    assert len(listed(await empty.http.get(MESSAGES))) == 3

    async with unit_of_work(empty.sessions) as session:
        await MessageRepository(session).erase_for_customer(erased.id)

    assert listed(await empty.http.get(MESSAGES, params={"to": erased.phone})) == []
    assert [parsed(item) for item in listed(await empty.http.get(MESSAGES))] == [as_listed(mine)]


async def test_production_has_no_sandbox_messages(
    production_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    phone = unique_phone()
    await send(runtime.session_factory, recipient=phone, body="Your Topup code is 123456.")

    queries: list[dict[str, str]] = [{}, {"to": phone}, {"to": phone, "limit": "5"}]
    for query in queries:
        response = await production_client.get(MESSAGES, params=query)

        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "No such resource."}}
    # The same answer as a path that never existed: production does not reveal the reader.
    unknown = await production_client.get("/v1/sandbox/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json() == response.json()


async def test_the_sandbox_reader_answers_outside_production(
    shared: Sandbox, settings: Settings
) -> None:
    """The other half of the production check, on the very settings it copies."""
    assert settings.is_sandbox is True
    phone = unique_phone()
    await send(shared.sessions, recipient=phone)

    assert len(listed(await shared.http.get(MESSAGES, params={"to": phone}))) == 1


async def test_a_control_character_in_the_filter_is_refused(client: httpx.AsyncClient) -> None:
    # PostgreSQL refuses a NUL in a text parameter; it must never reach the query.
    response = await client.get("/v1/sandbox/messages", params={"to": "+234\x00"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "to"
