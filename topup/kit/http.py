"""What every domain's endpoints share: the runtime, the unit of work, cached JSON answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit.db import unit_of_work
from topup.kit.jsonbody import RenderedBody
from topup.runtime import Runtime

JSON = "application/json"


async def get_runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, which
    # profiling showed to cost more than the lookup it serves.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the endpoint returns, else rolled back."""
    async with unit_of_work(runtime.session_factory) as session:
        yield session


# scope="function": the unit of work commits when the endpoint returns and *before* the
# answer leaves. FastAPI's default ("request") would commit after the answer is sent, so a
# client could act on a token or order that is not yet stored, or that never will be.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
# The key a client sends to make a money request safe to repeat (topup/idempotency).
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", description="1 to 255 characters")
]


def json_response(payload: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type=JSON)


def cached_json(request: Request, body: RenderedBody, *, max_age: int) -> Response:
    """A shared-cacheable answer; 304 when the client already holds this version."""
    headers = {
        "ETag": body.etag,
        "Cache-Control": f"public, max-age={max_age}, stale-while-revalidate={max_age}",
    }
    if body.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(body.content, media_type=JSON, headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
