"""Every query of the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from topup.ledger.models import JournalEntry, LedgerAccount, Transfer, TransferKind

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

    async def move_balances(self, account_id: str, **deltas: int) -> None:
        """Add ``deltas`` (e.g. ``debits_posted=500``) to the balances in one UPDATE: atomic
        under concurrency, and checked by the account's CHECK constraints."""
        values = {name: getattr(LedgerAccount, name) + delta for name, delta in deltas.items()}
        await self.session.execute(
            update(LedgerAccount).where(LedgerAccount.id == account_id).values(values)
        )

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
