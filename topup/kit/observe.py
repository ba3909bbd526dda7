"""The outermost ASGI middleware: request id, metrics and timing for every request.

Written as plain ASGI rather than Starlette's ``BaseHTTPMiddleware``: that one runs the
app in a separate task with memory streams, which profiling showed costs more than the
whole lookup it wraps.
"""

from __future__ import annotations

import re
import time
import uuid

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from topup.kit.metrics import LATENCY, REQUESTS

# A caller's own request id is kept only when it is short and plain: it goes into headers
# and log lines, so nothing else may pass through.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

log = structlog.get_logger("topup.http")
_INTERNAL_ERROR = orjson.dumps(
    {"error": {"code": "internal_error", "message": "Something went wrong on our side."}}
)
INTERNAL_ERROR_START: Message = {
    "type": "http.response.start",
    "status": 500,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_INTERNAL_ERROR)).encode()),
    ],
}
INTERNAL_ERROR_BODY: Message = {"type": "http.response.body", "body": _INTERNAL_ERROR}


# Every answer: never sniff a type, never be framed, never leak the path as a referrer.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
# JSON needs no scripts, styles or frames at all; the HTML of /docs keeps its own needs.
JSON_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    added = [pair for pair in SECURITY_HEADERS if pair[0] not in present]
    content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    if content_type.startswith(b"application/json") and JSON_POLICY[0] not in present:
        added.append(JSON_POLICY)
    return headers + added


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class ObserveRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = with_security_headers([*message.get("headers", ()), header])
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here rather than by Starlette's outer error middleware, so that even
            # a 500 carries the request id that support asks the customer for.
            log.exception("unhandled_error")
            if status:  # the answer had already begun: nothing sensible can be sent now
                raise
            await send_with_id(dict(INTERNAL_ERROR_START))  # a copy: headers get added
            await send_with_id(INTERNAL_ERROR_BODY)
        finally:
            structlog.contextvars.clear_contextvars()
            # The router leaves the matched route in the scope: label by its template,
            # never by the raw path, so callers cannot create unbounded label values.
            template = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)
