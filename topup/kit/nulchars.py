"""Refuse text holding the NUL character (U+0000) before any endpoint sees it.

PostgreSQL cannot store U+0000 in a text column, nor compare one in a query: such a value
reached the database and came back as a 503 "try again", which no retry could fix (SQLite
stored it). No Topup field has a use for it, so every query parameter, path segment and
JSON or form body is checked here, once, and refused with 422 ``invalid_field`` naming the
field. A cheap byte search comes first: only a request that holds a NUL is parsed.

A page request (the storefront's, told apart by ``is_page``) is not answered here: a person
in a browser should see the page's own error, not JSON. It goes on with the field marked in
the scope (:func:`nul_field`), and the storefront raises :func:`refusal` before the page's
handler, and so before any query, runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from topup.kit.bodylimit import replay, send_json
from topup.kit.errors import InvalidInput

NUL = "\x00"
# The scope key naming the field of a page request that holds a NUL.
NUL_FIELD = "topup.nul_field"


class RefuseNul:
    """Inside :class:`topup.kit.bodylimit.LimitBody`, so the body it reads is bounded."""

    def __init__(self, app: ASGIApp, is_page: Callable[[str], bool] = lambda path: False) -> None:
        self.app = app
        self.is_page = is_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        field = (
            _nul_in_path(scope)
            or _nul_in_form(scope["query_string"])
            or _nul_in_body(body, is_form=_is_form(scope))
        )
        if field is not None and self.is_page(scope["path"]):
            scope[NUL_FIELD] = field
        elif field is not None:
            await send_json(send, 422, orjson.dumps(refusal(field).body()))
            return
        await self.app(scope, replay(body, receive), send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _nul_in_path(scope: Scope) -> str | None:
    raw = scope.get("raw_path") or scope["path"].encode()
    return "path" if b"%00" in raw or NUL in scope["path"] else None


def _nul_in_form(encoded: bytes, whole: str = "query") -> str | None:
    """The first field of a query string or form body whose name or value holds a NUL."""
    if b"%00" not in encoded and b"\x00" not in encoded:
        return None
    for name, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True):
        if NUL in name or NUL in value:
            return name.replace(NUL, "") or whole
    return whole


def _is_form(scope: Scope) -> bool:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == b"content-type":
            return value.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded"
    return False


def _nul_in_body(body: bytes, *, is_form: bool) -> str | None:
    if b"\\u0000" not in body and b"\x00" not in body and b"%00" not in body:
        return None
    if is_form:
        return _nul_in_form(body, whole="body")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # not JSON at all: the endpoint refuses it as invalid_json
    return next(_nul_fields(document, []), None)


def _nul_fields(value: Any, path: list[str]) -> Iterator[str]:
    """Dotted paths, as validation errors name fields, of the strings holding a NUL."""
    if isinstance(value, str):
        if NUL in value:
            yield ".".join(path) or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield ".".join([*path, json.dumps(key)[1:-1]])
            yield from _nul_fields(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_fields(item, [*path, str(index)])


def nul_field(scope: Scope) -> str | None:
    """The field of a page request that holds a NUL, as :class:`RefuseNul` marked it."""
    field: str | None = scope.get(NUL_FIELD)
    return field


def refusal(field: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: may not contain the NUL character (U+0000).",
        code="invalid_field",
        field=field,
    )
