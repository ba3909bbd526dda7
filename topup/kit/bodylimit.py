"""Refuse request bodies larger than any Topup endpoint needs, before reading them whole.

The largest real body is a catalogue edit or an order, a few hundred bytes; a megabyte of
JSON is an attack on memory and the parser. A declared length over the limit is refused
without reading a byte; a body that streams past it is cut off where it crosses.

A body that stops arriving is refused too (408, and the connection closed): uvicorn bounds
only the wait between requests (timeout_keep_alive), not the wait for a declared body, so a
client that says 1000 bytes and sends 10 would otherwise hold a connection and a task open
for ever, and a few thousand such clients would exhaust the server.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024
# The whole body, from the first request message: 64 KiB arrive in well under this on the
# slowest mobile link a customer may use (a few KiB/s).
BODY_SECONDS = 20.0
_TOO_LARGE = orjson.dumps(
    {
        "error": {
            "code": "body_too_large",
            "message": f"A request body may be at most {MAX_BODY_BYTES // 1024} KiB.",
        }
    }
)


class LimitBody:
    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, body_seconds: float = BODY_SECONDS
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_seconds = body_seconds
        self._too_slow = orjson.dumps(
            {
                "error": {
                    "code": "body_timeout",
                    "message": f"The request body did not arrive within {body_seconds:g} s.",
                }
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_length(scope) > self.max_bytes:
            await _refuse(send)
            return
        try:
            async with asyncio.timeout(self.body_seconds):
                body = await self._read_body(receive)
        except TimeoutError:
            await send_json(send, 408, self._too_slow, close=True)
            return
        except _TooLarge:
            await _refuse(send)
            return
        except _ClientGone:
            return
        await self.app(scope, replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes:
        """The whole body, or _TooLarge where it crosses the limit.

        Read here, at most the limit: the app's own reading would turn an error raised
        mid-stream into a vague 400. Bodies this small cost nothing to hold."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0  # the server refuses a malformed length before us
        return 0


class _TooLarge(Exception):
    pass


class _ClientGone(Exception):
    """The client went away while its body was being read: nobody to answer."""


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


async def send_json(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    """An answer from a middleware, before the app (and its error handlers) are reached;
    ``close`` ends the connection after it (the server then reads no more from it)."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
