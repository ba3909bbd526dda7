"""Refuse request bodies larger than any Topup endpoint needs, before reading them whole.

The largest real body is a catalogue edit or an order, a few hundred bytes; a megabyte of
JSON is an attack on memory and the parser. A declared length over the limit is refused
without reading a byte; a body that streams past it is cut off where it crosses.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024
_TOO_LARGE = orjson.dumps(
    {
        "error": {
            "code": "body_too_large",
            "message": f"A request body may be at most {MAX_BODY_BYTES // 1024} KiB.",
        }
    }
)


class LimitBody:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_length(scope) > self.max_bytes:
            await _refuse(send)
            return
        # Read the body here, at most the limit: the app's own reading would turn an
        # error raised mid-stream into a vague 400. Bodies this small cost nothing to hold.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, replay(b"".join(chunks), receive), send)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0  # the server refuses a malformed length before us
        return 0


def replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, once; after it, the client's own messages (disconnect)."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(send: Send) -> None:
    await send_json(send, 413, _TOO_LARGE)


async def send_json(send: Send, status: int, body: bytes) -> None:
    """An answer from a middleware, before the app (and its error handlers) are reached."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
