"""Every query of the ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import BigInteger, Select, case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import identity_key

from topup.ledger.models import JournalEntry, LedgerAccount, Transfer, TransferKind

BALANCE_COLUMNS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
POSTED_KINDS = (TransferKind.posted.value, TransferKind.post_pending.value)


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: LedgerAccount | JournalEntry | Transfer) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    async def account(self, account_id: str) -> LedgerAccount | None:
        return await self.session.get(LedgerAccount, account_id)

    async def entry_by_key(self, idempotency_key: str) -> JournalEntry | None:
        query = select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key)
        return await self.session.scalar(query)

    async def transfers_of(self, entry_id: str) -> Sequence[Transfer]:
        query = select(Transfer).where(Transfer.entry_id == entry_id).order_by(Transfer.id)
        return (await self.session.scalars(query)).all()

    async def transfer(self, transfer_id: str) -> Transfer | None:
        return await self.session.get(Transfer, transfer_id)

    async def resolution_of(self, pending_id: str) -> Transfer | None:
        return await self.session.scalar(select(Transfer).where(Transfer.pending_id == pending_id))

    async def accounts(self, account_ids: Sequence[str]) -> dict[str, LedgerAccount]:
        """The accounts that exist of those named, in one query."""
        query = select(LedgerAccount).where(LedgerAccount.id.in_(account_ids))
        return {account.id: account for account in await self.session.scalars(query)}

    async def move_balances(self, deltas: Mapping[str, Mapping[str, int]]) -> None:
        """Add each account's ``deltas`` (e.g. ``{"sales:EUR": {"credits_posted": 500}}``)
        to its balances, every account in one UPDATE: atomic under concurrency, checked by
        the accounts' CHECK constraints, and one round trip however many accounts an entry
        touches. The rows are locked in id order, so two entries never deadlock on them."""
        values = {}
        for column in sorted({name for changes in deltas.values() for name in changes}):
            amounts = {
                account_id: literal(changes[column], BigInteger())
                for account_id, changes in deltas.items()
                if changes.get(column)
            }
            if amounts:
                values[column] = getattr(LedgerAccount, column) + case(
                    amounts, value=LedgerAccount.id, else_=literal(0, BigInteger())
                )
        if not values:
            return
        # PostgreSQL updates the matched rows in whatever order it scans them, which
        # changes as rows get new versions; the sub-select locks them in id order first.
        locked = (
            select(LedgerAccount.id)
            .where(LedgerAccount.id.in_(sorted(deltas)))
            .order_by(LedgerAccount.id)
            .with_for_update()
            .subquery()
        )
        await self.session.execute(
            update(LedgerAccount)
            .where(LedgerAccount.id == locked.c.id)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        # Only the balances changed: the accounts this session holds reload those when next
        # read, and keep the rest (code, currency) without another query.
        for account_id in deltas:
            held = self.session.identity_map.get(identity_key(LedgerAccount, account_id))
            if held is not None:
                self.session.expire(held, BALANCE_COLUMNS)

    # ---- what `topup ledger check` reads --------------------------------------------------

    def open_holds(self) -> Select[Transfer]:
        resolution = aliased(Transfer)
        return (
            select(Transfer)
            .outerjoin(resolution, resolution.pending_id == Transfer.id)
            .where(Transfer.kind == TransferKind.pending.value, resolution.id.is_(None))
        )

    async def expired_holds(self, now: datetime, limit: int = 1000) -> Sequence[Transfer]:
        query = self.open_holds().where(Transfer.timeout_at <= now).limit(limit)
        return (await self.session.scalars(query)).all()

    async def sums_by_account(self) -> dict[str, dict[str, int]]:
        """Each account's balances recomputed from the transfers themselves."""
        sums: dict[str, dict[str, int]] = {}

        async def collect(query: Select[str, int], column: str) -> None:
            for account_id, total in await self.session.execute(query):
                sums.setdefault(account_id, {})[column] = int(total)

        posted = Transfer.kind.in_(POSTED_KINDS)
        for side, column in (
            (Transfer.debit_account_id, "debits"),
            (Transfer.credit_account_id, "credits"),
        ):
            await collect(
                select(side, func.sum(Transfer.amount)).where(posted).group_by(side),
                f"{column}_posted",
            )
            holds = self.open_holds().subquery()
            hold_side = (
                holds.c.debit_account_id if column == "debits" else holds.c.credit_account_id
            )
            await collect(
                select(hold_side, func.sum(holds.c.amount)).group_by(hold_side),
                f"{column}_pending",
            )
        return sums

    async def all_accounts(self) -> Sequence[LedgerAccount]:
        return (await self.session.scalars(select(LedgerAccount).order_by(LedgerAccount.id))).all()

    async def entries_without_transfers(self) -> Sequence[str]:
        query = (
            select(JournalEntry.id)
            .outerjoin(Transfer, Transfer.entry_id == JournalEntry.id)
            .where(Transfer.id.is_(None))
        )
        return (await self.session.scalars(query)).all()

    async def bad_resolutions(self) -> Sequence[str]:
        """Resolutions that post more than their hold, or move other accounts or money."""
        hold = aliased(Transfer)
        query = (
            select(Transfer.id)
            .join(hold, hold.id == Transfer.pending_id)
            .where(
                (hold.kind != TransferKind.pending.value)
                | (Transfer.amount > hold.amount)
                | (
                    (Transfer.kind == TransferKind.void_pending.value)
                    & (Transfer.amount != hold.amount)
                )
                | (Transfer.debit_account_id != hold.debit_account_id)
                | (Transfer.credit_account_id != hold.credit_account_id)
                | (Transfer.currency != hold.currency)
            )
        )
        return (await self.session.scalars(query)).all()
