"""Request bodies over 64 KiB are refused with 413 before they are read whole."""

from __future__ import annotations

import httpx
import orjson
from starlette.types import Message

from topup.app import create_app
from topup.config import Settings
from topup.kit.bodylimit import MAX_BODY_BYTES
from topup.runtime import Runtime


async def test_a_declared_body_over_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    body = b'{"email": "' + b"a" * MAX_BODY_BYTES + b'"}'

    response = await client.post(
        "/v1/auth/password/forgot", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert response.headers["x-request-id"]  # measured and logged like any answer


async def test_a_body_at_the_limit_is_read_and_judged_as_usual(client: httpx.AsyncClient) -> None:
    padding = MAX_BODY_BYTES - len(b'{"email": ""}')
    body = b'{"email": "' + b"a" * padding + b'"}'
    assert len(body) == MAX_BODY_BYTES

    response = await client.post(
        "/v1/auth/password/forgot", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422  # too long an email, said as such


async def test_a_streamed_body_without_a_length_is_cut_off_where_it_crosses(
    settings: Settings, runtime: Runtime
) -> None:
    app = create_app(settings, runtime)
    chunk = b"x" * 16 * 1024
    chunks = [chunk] * 8  # 128 KiB, no content-length
    sent: list[Message] = []

    async def receive() -> Message:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/auth/password/forgot",
        "raw_path": b"/v1/auth/password/forgot",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("topup.test", 80),
    }
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)

    assert sent[0]["status"] == 413
    assert orjson.loads(sent[1]["body"])["error"]["code"] == "body_too_large"
    assert len(chunks) <= 3  # it stopped reading soon after the limit
