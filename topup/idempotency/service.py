"""The idempotency-key protocol of DESIGN.md §5, after Stripe's.

1. :func:`claim` runs in a transaction of its own and commits at once: it records the key as
   in flight with the request's fingerprint, or finds the key already there and answers
   with the stored response (same body), 409 ``idempotency_key_reused`` (another body) or
   409 ``idempotency_key_in_use`` (the first request is still working).
2. The request then does its work in its own unit of work and calls :func:`complete` in
   that same unit of work, so the work and the stored answer commit together or not at
   all. A crash before that commit leaves the key in flight with nothing done; once its
   lease lapses a retry takes it over and does the work once.
3. A request refused before it acted (bad input) calls :func:`release`, so the customer can
   correct the body and try again with the same key, as Stripe allows.
4. A request whose database connection failed (answered 503) gives the key back the same
   way (:func:`released_on_outage`): its unit of work rolled back, or it committed with the
   answer stored (then the key is done and stays). Without that the retry the 503 invites
   would be refused as "in use" until the lease lapsed. When even the release cannot reach
   the database, it is tried again in the background until the lease lapses by itself.

Every claim, new or a takeover, writes a fresh random fencing token on the key and hands
it back in a :class:`Claim`; :func:`complete` and :func:`release` act only while the key
still carries that token. A holder that was merely slow (a stalled database, a long pause)
and lost its lease to a retry therefore fails in :func:`complete`, inside its own unit of
work, and its work rolls back: only the retry's work stands. The lease decides nothing
about correctness, only how soon a retry may take over from a holder that died.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
import structlog
from sqlalchemy import ColumnElement, and_, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.idempotency.models import IdempotencyKey, KeyState
from topup.kit import clock
from topup.kit.db import DATABASE_FAILURES, unit_of_work
from topup.kit.detached import Detached
from topup.kit.errors import Conflict, InvalidInput

KEY_LIFETIME = timedelta(hours=72)
# How long a holder keeps the key before a retry may take it over. The fencing token, not
# this lease, keeps a slow holder from completing after a takeover, so the lease is only
# the wait a client sees (409 idempotency_key_in_use) after its request died with a
# crashed API process. A placement is a few database round trips, a number lookup (2 s
# timeout by default) and one card tokenization: seconds, so 15 s leaves room for a slow
# moment without keeping a client on 409s for a minute.
IN_FLIGHT_LOCK = timedelta(seconds=15)
MAX_KEY_LENGTH = 255
_Row = TypeVar("_Row")  # whatever row a key named: a funding, a refund request
log = structlog.get_logger("topup.idempotency")


@dataclass(frozen=True, slots=True)
class Claim:
    """This request holds the key: hand it to :func:`complete` or :func:`release`."""

    customer_id: str
    key: str
    token: str  # the fencing token written on the key by this claim


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
) -> Claim | Replay:
    """Take the key for this request (a :class:`Claim`), or the stored answer to replay."""
    now = clock.now()
    claimed = Claim(customer_id, key, _new_token())
    try:
        async with unit_of_work(session_factory) as session:
            session.add(
                IdempotencyKey(
                    customer_id=customer_id,
                    key=key,
                    scope=scope,
                    fingerprint=request_fingerprint,
                    state=KeyState.in_flight.value,
                    locked_until=now + IN_FLIGHT_LOCK,
                    claim_token=claimed.token,
                    response_status=None,
                    response_body=None,
                    created_at=now,
                    expires_at=now + KEY_LIFETIME,
                )
            )
        return claimed
    except IntegrityError:
        pass
    except DATABASE_FAILURES:
        # The connection failed around the commit, which may have stored the claim: take
        # back this claim (its token is its mark), never another request's.
        await _quietly(release(session_factory, claimed))
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
        return _answer_for(record, scope, request_fingerprint, now, claimed)


async def claim_request(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    secret: str,
    customer_id: str,
    key: str,
    scope: str,
    body: Any,
) -> Claim | Replay:
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


def _new_token() -> str:
    return secrets.token_hex(16)


def _answer_for(
    record: IdempotencyKey, scope: str, request_fingerprint: str, now: datetime, claimed: Claim
) -> Claim | Replay:
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
        raise _in_use("The first request with this Idempotency-Key is still being handled.")
    # The holder's lease lapsed: it died, or it is only slow. This request takes the key
    # over; the new token fences the old holder out of complete() and release().
    record.locked_until = now + IN_FLIGHT_LOCK
    record.claim_token = claimed.token
    return claimed


def _in_use(message: str) -> Conflict:
    # The first request's answer, or the key given back, comes soon: retry in a second.
    return Conflict(
        message,
        code="idempotency_key_in_use",
        field="Idempotency-Key",
        headers={"Retry-After": "1"},
    )


def _held_by(claimed: Claim) -> ColumnElement[bool]:
    """The key row, while it is in flight under this claim's token."""
    return and_(
        IdempotencyKey.customer_id == claimed.customer_id,
        IdempotencyKey.key == claimed.key,
        IdempotencyKey.state == KeyState.in_flight.value,
        IdempotencyKey.claim_token == claimed.token,
    )


async def complete(session: AsyncSession, claimed: Claim, *, status_code: int, body: Any) -> None:
    """Store the answer in the caller's unit of work, beside the work it describes.

    One conditional UPDATE, so the check of the token and the write are one step on both
    databases. Raises 409 when another claim took the key over: the caller's unit of work
    then rolls back, and its work with it."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(_held_by(claimed))
        .values(
            state=KeyState.done.value,
            response_status=status_code,
            response_body=orjson.dumps(body).decode(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _in_use("The Idempotency-Key is no longer held by this request.")


async def release(session_factory: async_sessionmaker[AsyncSession], claimed: Claim) -> None:
    """Give the key back after a request that was refused before it acted; a key another
    claim took over meanwhile is left to that claim."""
    async with unit_of_work(session_factory) as session:
        await session.execute(delete(IdempotencyKey).where(_held_by(claimed)))


async def purge_expired(session: AsyncSession) -> int:
    """Forget keys past their 72 hours (the worker's housekeeping)."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= clock.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


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
    claimed: Claim,
    *,
    seconds: float,
    every_seconds: float = 1.0,
) -> None:
    """Try the release again until the database is back, for at most ``seconds``: past the
    lease a retry takes the key over anyway. Safe however late it runs, since the token
    fences out every claim but this one."""
    # Bounded in real time: the request clock of the sandbox or a test may stand still.
    give_up_at = time.monotonic() + seconds
    while time.monotonic() < give_up_at:
        await asyncio.sleep(every_seconds)
        if await _quietly(release(session_factory, claimed)):
            return


@asynccontextmanager
async def released_on_outage(
    session_factory: async_sessionmaker[AsyncSession], detached: Detached, claimed: Claim
) -> AsyncIterator[None]:
    """The work done under a claimed key: if the database fails it (a 503 follows), the key
    is given back so the retry is served at once, or as soon as the database is back (in
    the background: the 503 does not wait). Safe whether or not the work committed: only a
    key still in flight under this claim is released, and a committed one is done."""
    try:
        yield
    except DATABASE_FAILURES:
        if not await _quietly(release(session_factory, claimed)):
            detached.start(
                release_when_back(session_factory, claimed, seconds=IN_FLIGHT_LOCK.total_seconds()),
                name="idempotency_release",
            )
        raise
