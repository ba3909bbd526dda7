"""The idempotency-key protocol of DESIGN.md §5, after Stripe's.

1. :func:`claim` runs in a transaction of its own and commits at once: it records the key as
   in flight with the request's fingerprint, or finds the key already there and answers
   with the stored response (same body), 409 ``idempotency_key_reused`` (another body) or
   409 ``idempotency_key_in_use`` (the first request is still working).
2. The request then does its work in its own unit of work and calls :func:`complete` in
   that same unit of work, so the work and the stored answer commit together or not at
   all. A crash before that commit leaves the key in flight with nothing done; once its
   lock lapses a retry takes it over and does the work once.
3. A request refused before it acted (bad input) calls :func:`release`, so the customer can
   correct the body and try again with the same key, as Stripe allows.
4. A request whose database connection failed (answered 503) gives the key back the same
   way (:func:`released_on_outage`): its unit of work rolled back, or it committed with the
   answer stored (then the key is done and stays). Without that the retry the 503 invites
   would be refused as "in use" until the lock lapsed. When even the release cannot reach
   the database, the lock lapses on its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
import structlog
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.idempotency.models import IdempotencyKey, KeyState
from topup.kit import clock
from topup.kit.db import DATABASE_FAILURES, unit_of_work
from topup.kit.detached import Detached
from topup.kit.errors import Conflict, InvalidInput

KEY_LIFETIME = timedelta(hours=72)
IN_FLIGHT_LOCK = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
_Row = TypeVar("_Row")  # whatever row a key named: a funding, a refund request
log = structlog.get_logger("topup.idempotency")


@dataclass(frozen=True, slots=True)
class Replay:
    """The stored answer of the first request with this key."""

    status_code: int
    body: Any


def fingerprint(scope: str, body: Any, *, secret: str) -> str:
    """HMAC-SHA256 of the operation and its body, keys sorted so their order never matters.
    Keyed, because a body may hold a card number: a plain digest of so little entropy
    could be reversed by trying every number."""
    canonical = orjson.dumps({"scope": scope, "body": body}, option=orjson.OPT_SORT_KEYS)
    return hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()


def checked_key(raw: str | None) -> str:
    if raw is None or not raw:
        raise InvalidInput(
            "Send an Idempotency-Key header (1 to 255 characters).",
            code="idempotency_key_missing",
            field="Idempotency-Key",
        )
    if len(raw) > MAX_KEY_LENGTH or not raw.isprintable() or not raw.isascii():
        raise InvalidInput(
            "An Idempotency-Key has 1 to 255 printable ASCII characters.",
            code="idempotency_key_invalid",
            field="Idempotency-Key",
        )
    return raw


async def claim(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    customer_id: str,
    key: str,
    scope: str,
    request_fingerprint: str,
) -> Replay | None:
    """Take the key for this request (None), or the stored answer to replay."""
    now = clock.now()
    lock = now + IN_FLIGHT_LOCK
    try:
        async with unit_of_work(session_factory) as session:
            session.add(
                IdempotencyKey(
                    customer_id=customer_id,
                    key=key,
                    scope=scope,
                    fingerprint=request_fingerprint,
                    state=KeyState.in_flight.value,
                    locked_until=lock,
                    response_status=None,
                    response_body=None,
                    created_at=now,
                    expires_at=now + KEY_LIFETIME,
                )
            )
        return None
    except IntegrityError:
        pass
    except DATABASE_FAILURES:
        # The connection failed around the commit, which may have stored the claim: take
        # back this claim only (the lock it set is its mark), never another request's.
        await _quietly(release(session_factory, customer_id=customer_id, key=key, lock=lock))
        raise
    async with unit_of_work(session_factory) as session:
        record = await session.get(IdempotencyKey, (customer_id, key), with_for_update=True)
        if record is None:  # expired and purged in between: claim it afresh
            return await claim(
                session_factory,
                customer_id=customer_id,
                key=key,
                scope=scope,
                request_fingerprint=request_fingerprint,
            )
        return _answer_for(record, scope, request_fingerprint, now)


async def claim_request(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    secret: str,
    customer_id: str,
    key: str,
    scope: str,
    body: Any,
) -> Replay | None:
    """:func:`claim` for a request body: the fingerprint taken as :func:`fingerprint` does."""
    return await claim(
        session_factory,
        customer_id=customer_id,
        key=key,
        scope=scope,
        request_fingerprint=fingerprint(scope, body, secret=secret),
    )


def ensure_key_fresh(created_at: datetime, row: _Row) -> _Row:
    """A row an Idempotency-Key named (a funding, a refund request) answers a retry only
    within the key's lifetime: after it the key is forgotten here, and the same key is a
    new request that must not be answered with the old row."""
    if clock.now() - created_at >= KEY_LIFETIME:
        raise Conflict(
            "This Idempotency-Key was used more than 72 hours ago; use a new key.",
            code="idempotency_key_reused",
            field="Idempotency-Key",
        )
    return row


def _answer_for(
    record: IdempotencyKey, scope: str, request_fingerprint: str, now: datetime
) -> Replay | None:
    if record.scope != scope or record.fingerprint != request_fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for another request; use a new key.",
            code="idempotency_key_reused",
            field="Idempotency-Key",
        )
    if record.state == KeyState.done:
        assert record.response_status is not None
        assert record.response_body is not None
        return Replay(record.response_status, orjson.loads(record.response_body))
    if record.locked_until > now:
        raise Conflict(
            "The first request with this Idempotency-Key is still being handled.",
            code="idempotency_key_in_use",
            field="Idempotency-Key",
            headers={"Retry-After": "1"},  # its answer, or the key given back, comes soon
        )
    # The holder died before committing anything: this request takes the key over.
    record.locked_until = now + IN_FLIGHT_LOCK
    return None


async def complete(
    session: AsyncSession, *, customer_id: str, key: str, status_code: int, body: Any
) -> None:
    """Store the answer in the caller's unit of work, beside the work it describes."""
    record = await session.get(IdempotencyKey, (customer_id, key), with_for_update=True)
    if record is None or record.state != KeyState.in_flight:
        raise Conflict(
            "The Idempotency-Key is no longer held by this request.",
            code="idempotency_key_in_use",
            field="Idempotency-Key",
        )
    record.state = KeyState.done.value
    record.response_status = status_code
    record.response_body = orjson.dumps(body).decode()


async def release(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    customer_id: str,
    key: str,
    lock: datetime | None = None,
    locked_by: datetime | None = None,
) -> None:
    """Give the key back after a request that was refused before it acted; with ``lock``,
    only the claim that set exactly that lock (a claim whose own commit may have failed);
    with ``locked_by``, only a claim whose lock ends by then (see :func:`released_on_outage`)."""
    conditions = [
        IdempotencyKey.customer_id == customer_id,
        IdempotencyKey.key == key,
        IdempotencyKey.state == KeyState.in_flight.value,
    ]
    if lock is not None:
        conditions.append(IdempotencyKey.locked_until == lock)
    if locked_by is not None:
        conditions.append(IdempotencyKey.locked_until <= locked_by)
    async with unit_of_work(session_factory) as session:
        await session.execute(delete(IdempotencyKey).where(*conditions))


async def _quietly(release: Coroutine[Any, Any, None]) -> bool:
    """A release after a database failure; False while the database is still away."""
    try:
        await release
    except DATABASE_FAILURES as error:
        log.warning("idempotency_release_failed", error=type(error).__name__)
        return False
    return True


async def release_when_back(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    customer_id: str,
    key: str,
    locked_by: datetime,
    every_seconds: float = 1.0,
) -> None:
    """Try the release again until the database is back or the lock lapses by itself.

    ``locked_by`` is when the failed request began plus the lock: the claim it holds ends
    before then, while a claim taken afterwards (by a retry, once this one was given back
    or had lapsed) ends later, so no other request's claim is ever released."""
    # Bounded in real time: the request clock of the sandbox or a test may stand still.
    give_up_at = time.monotonic() + (locked_by - clock.now()).total_seconds()
    while time.monotonic() < give_up_at:
        await asyncio.sleep(every_seconds)
        released = release(session_factory, customer_id=customer_id, key=key, locked_by=locked_by)
        if await _quietly(released):
            return


@asynccontextmanager
async def released_on_outage(
    session_factory: async_sessionmaker[AsyncSession],
    detached: Detached,
    *,
    customer_id: str,
    key: str,
) -> AsyncIterator[None]:
    """The work done under a claimed key: if the database fails it (a 503 follows), the key
    is given back so the retry is served at once, or as soon as the database is back (in
    the background: the 503 does not wait). Safe whether or not the work committed: only a
    key still in flight is released, and a committed one is done."""
    locked_by = clock.now() + IN_FLIGHT_LOCK
    try:
        yield
    except DATABASE_FAILURES:
        released = release(session_factory, customer_id=customer_id, key=key, locked_by=locked_by)
        if not await _quietly(released):
            detached.start(
                release_when_back(
                    session_factory, customer_id=customer_id, key=key, locked_by=locked_by
                ),
                name="idempotency_release",
            )
        raise


async def purge_expired(session: AsyncSession) -> int:
    """Forget keys past their 72 hours (the worker's housekeeping)."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= clock.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
