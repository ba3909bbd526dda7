"""Recording money movements: single-phase entries, holds, and their resolution.

Every function takes an idempotency key. A step of an order that is retried after a
crash calls the same function with the same key and gets back what the first call wrote,
so no movement is ever recorded twice. Each call runs in a savepoint: if a constraint
refuses it (a wallet would go below zero), the caller's transaction stays usable and gets
a clear :class:`LedgerRefused` instead of a broken session.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit import clock
from topup.kit.errors import AppError, Conflict
from topup.kit.ids import new_id
from topup.kit.money import Money
from topup.ledger.models import JournalEntry, LedgerAccount, Transfer, TransferKind
from topup.ledger.repository import LedgerRepository


class LedgerRefused(AppError):
    """The database refused a movement: most often a wallet that would go below zero."""

    status_code = 402
    code = "insufficient_balance"


@dataclass(frozen=True, slots=True)
class Movement:
    debit: str  # the account the money leaves
    credit: str  # the account it reaches
    amount: Money


async def open_account(
    session: AsyncSession,
    account_id: str,
    *,
    code: str,
    currency: str,
    customer_id: str | None = None,
    never_negative: bool = False,
) -> LedgerAccount:
    """The account, created on first use. ``never_negative`` is for liabilities such as a
    wallet: its debits, pending ones included, can never exceed its credits."""
    repository = LedgerRepository(session)
    existing = await repository.account(account_id)
    if existing is not None:
        if existing.currency != currency:
            raise Conflict(f"ledger account {account_id} holds {existing.currency}")
        return existing
    account = LedgerAccount(
        id=account_id,
        code=code,
        currency=currency,
        customer_id=customer_id,
        debits_must_not_exceed_credits=never_negative,
        credits_must_not_exceed_debits=False,
        debits_posted=0,
        credits_posted=0,
        debits_pending=0,
        credits_pending=0,
        created_at=clock.now(),
    )
    try:
        async with session.begin_nested():  # another transaction may open it first
            repository.add(account)
    except IntegrityError:
        found = await repository.account(account_id)
        if found is None:
            raise
        return found
    return account


async def open_accounts(
    session: AsyncSession, accounts: Sequence[tuple[str, str]], *, currency: str
) -> None:
    """Each ``(account id, code)``, created on first use; the ones that exist are read in
    one query (and so kept in the session for the entry that follows)."""
    known = await LedgerRepository(session).accounts([account_id for account_id, _ in accounts])
    for account_id, code in accounts:
        existing = known.get(account_id)
        if existing is None:
            await open_account(session, account_id, code=code, currency=currency)
        elif existing.currency != currency:
            raise Conflict(f"ledger account {account_id} holds {existing.currency}")


async def record(
    session: AsyncSession,
    *,
    kind: str,
    reference: str,
    idempotency_key: str,
    movements: Sequence[Movement],
) -> JournalEntry:
    """Move money at once, as one journal entry of one or more transfers."""
    if not movements:
        raise ValueError("a journal entry moves money at least once")
    repository = LedgerRepository(session)
    existing = await repository.entry_by_key(idempotency_key)
    if existing is not None:
        return existing
    await _check_accounts(repository, movements)

    async def write(entry: JournalEntry, now: datetime) -> None:
        deltas: dict[str, Counter[str]] = defaultdict(Counter)
        for movement in movements:
            repository.add(_transfer(entry, TransferKind.posted, movement, now))
            deltas[movement.debit]["debits_posted"] += movement.amount.amount
            deltas[movement.credit]["credits_posted"] += movement.amount.amount
        await repository.move_balances(deltas)

    return await _in_entry(session, kind, reference, idempotency_key, write)


async def hold(
    session: AsyncSession,
    *,
    kind: str,
    reference: str,
    idempotency_key: str,
    movement: Movement,
    timeout_at: datetime,
) -> Transfer:
    """Reserve ``movement`` until it is posted or voided, or until ``timeout_at``."""
    repository = LedgerRepository(session)
    existing = await repository.entry_by_key(idempotency_key)
    if existing is None:
        await _check_accounts(repository, [movement])

        async def write(entry: JournalEntry, now: datetime) -> None:
            transfer = _transfer(entry, TransferKind.pending, movement, now)
            transfer.timeout_at = timeout_at
            repository.add(transfer)
            await repository.move_balances(
                {
                    movement.debit: {"debits_pending": movement.amount.amount},
                    movement.credit: {"credits_pending": movement.amount.amount},
                }
            )

        existing = await _in_entry(session, kind, reference, idempotency_key, write)
    (transfer,) = await repository.transfers_of(existing.id)
    return transfer


async def post_hold(
    session: AsyncSession,
    pending_id: str,
    *,
    idempotency_key: str,
    amount: Money | None = None,
) -> Transfer:
    """Turn a hold into a real movement, all of it or ``amount`` of it (the rest is
    released). Posting a hold that was voided is refused."""
    return await _resolve(session, pending_id, TransferKind.post_pending, idempotency_key, amount)


async def void_hold(session: AsyncSession, pending_id: str, *, idempotency_key: str) -> Transfer:
    """Release a hold in full; nothing moves."""
    return await _resolve(session, pending_id, TransferKind.void_pending, idempotency_key, None)


async def void_expired_holds(session: AsyncSession, *, limit: int = 1000) -> int:
    """Release every hold past its timeout (the worker calls this); returns how many."""
    repository = LedgerRepository(session)
    expired = await repository.expired_holds(clock.now(), limit)
    for pending in expired:
        await void_hold(session, pending.id, idempotency_key=f"expire:{pending.id}")
    return len(expired)


async def _resolve(
    session: AsyncSession,
    pending_id: str,
    kind: TransferKind,
    idempotency_key: str,
    amount: Money | None,
) -> Transfer:
    repository = LedgerRepository(session)
    pending = await repository.transfer(pending_id)
    if pending is None or pending.kind != TransferKind.pending:
        raise Conflict(f"{pending_id} is not a hold", code="hold_not_found")
    resolution = await repository.resolution_of(pending_id)
    if resolution is not None:
        if resolution.kind != kind:
            raise Conflict(
                f"hold {pending_id} was already {resolution.kind}", code="hold_already_resolved"
            )
        return resolution
    posted = pending.amount if amount is None else amount.amount
    if amount is not None and (
        amount.currency != pending.currency or posted > pending.amount or posted <= 0
    ):
        raise Conflict(
            f"cannot post {amount} of a hold of {pending.amount} {pending.currency}",
            code="hold_amount_invalid",
        )
    if kind is TransferKind.void_pending:
        posted = pending.amount
    movement = Movement(
        pending.debit_account_id, pending.credit_account_id, Money(posted, pending.currency)
    )

    async def write(entry: JournalEntry, now: datetime) -> None:
        transfer = _transfer(entry, kind, movement, now)
        transfer.pending_id = pending.id
        repository.add(transfer)
        moved = posted if kind is TransferKind.post_pending else 0
        await repository.move_balances(
            {
                pending.debit_account_id: {
                    "debits_pending": -pending.amount,
                    "debits_posted": moved,
                },
                pending.credit_account_id: {
                    "credits_pending": -pending.amount,
                    "credits_posted": moved,
                },
            }
        )

    entry_kind = "post_hold" if kind is TransferKind.post_pending else "void_hold"
    entry = await _in_entry(session, entry_kind, pending.id, idempotency_key, write)
    (transfer,) = await repository.transfers_of(entry.id)
    return transfer


def _transfer(
    entry: JournalEntry, kind: TransferKind, movement: Movement, now: datetime
) -> Transfer:
    return Transfer(
        id=new_id("tr"),
        entry_id=entry.id,
        kind=kind.value,
        debit_account_id=movement.debit,
        credit_account_id=movement.credit,
        currency=movement.amount.currency,
        amount=movement.amount.amount,
        pending_id=None,
        timeout_at=None,
        created_at=now,
    )


async def _check_accounts(repository: LedgerRepository, movements: Sequence[Movement]) -> None:
    """Name the mistake before the database refuses it with a bare constraint error; every
    account of the entry is read in one query."""
    named = {
        account_id for movement in movements for account_id in (movement.debit, movement.credit)
    }
    accounts = await repository.accounts(sorted(named))
    for movement in movements:
        for account_id in (movement.debit, movement.credit):
            account = accounts.get(account_id)
            if account is None:
                raise Conflict(f"no ledger account {account_id}", code="ledger_account_not_found")
            if account.currency != movement.amount.currency:
                raise Conflict(
                    f"{account_id} holds {account.currency}, not {movement.amount.currency}",
                    code="currency_mismatch",
                )


async def _in_entry(
    session: AsyncSession, kind: str, reference: str, idempotency_key: str, write: _Writer
) -> JournalEntry:
    repository = LedgerRepository(session)
    now = clock.now()
    entry = JournalEntry(
        id=new_id("je"),
        kind=kind,
        reference=reference,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            repository.add(entry)
            await repository.flush()
            await write(entry, now)
            await repository.flush()
    except IntegrityError as error:
        raced = await repository.entry_by_key(idempotency_key)
        if raced is not None:  # the same step, committed by another process meanwhile
            return raced
        raise LedgerRefused("The balance is too small for this payment.") from error
    return entry


_Writer = Callable[[JournalEntry, datetime], Awaitable[None]]
