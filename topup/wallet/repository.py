"""Every query of the wallet: fundings, and the wallet's lines read from the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Subquery, and_, exists, or_, select, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from topup.ledger.models import JournalEntry, Transfer, TransferKind
from topup.wallet.models import OPEN_FUNDING_STATUSES, WalletFunding


@dataclass(frozen=True, slots=True)
class WalletLine:
    """One movement of a wallet as the ledger holds it, with what it was for."""

    transfer_id: str
    transfer_kind: str
    entry_kind: str  # for a posted hold: the kind of the hold's own entry
    reference: str  # the order, funding, refund or customer the entry is about
    debit_account_id: str
    amount: int
    created_at: datetime


class WalletRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, funding: WalletFunding) -> None:
        self.session.add(funding)

    async def funding(self, funding_id: str, *, for_update: bool = False) -> WalletFunding | None:
        return await self.session.get(
            WalletFunding, funding_id, with_for_update=for_update, populate_existing=for_update
        )

    async def funding_by_key(self, customer_id: str, key: str) -> WalletFunding | None:
        query = select(WalletFunding).where(
            WalletFunding.customer_id == customer_id, WalletFunding.idempotency_key == key
        )
        return await self.session.scalar(query)

    async def has_open_funding(self, customer_id: str) -> bool:
        query = select(WalletFunding.id).where(
            WalletFunding.customer_id == customer_id,
            WalletFunding.status.in_([status.value for status in OPEN_FUNDING_STATUSES]),
        )
        return (await self.session.scalar(query.limit(1))) is not None

    async def due_ids(self, now: datetime, *, limit: int) -> Sequence[str]:
        """Open fundings whose lease has lapsed: the worker finishes them."""
        query = (
            select(WalletFunding.id)
            .where(
                WalletFunding.status.in_([status.value for status in OPEN_FUNDING_STATUSES]),
                WalletFunding.due_at <= now,
            )
            .order_by(WalletFunding.due_at)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def take(self, funding_id: str, *, now: datetime, lease_until: datetime) -> bool:
        """Lease one open funding to this worker: one conditional UPDATE, as for orders."""
        result = await self.session.execute(
            update(WalletFunding)
            .where(
                WalletFunding.id == funding_id,
                WalletFunding.status.in_([status.value for status in OPEN_FUNDING_STATUSES]),
                WalletFunding.due_at <= now,
            )
            .values(due_at=lease_until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    @staticmethod
    def _page(account_id: str, *, limit: int, after: tuple[datetime, str] | None) -> Select[Any]:
        """The ids of one page, chosen before anything is joined: the newest ``limit`` on
        each side of the account (each read backwards on its own index), then the newest
        ``limit`` of both. Joining first would read the whole history of a busy wallet on
        every page. A transfer never has the wallet on both sides (the ledger's CHECK), so
        the two sides never share a row."""
        resolution = aliased(Transfer)
        still_open = ~exists().where(resolution.pending_id == Transfer.id)

        def side(column: Any) -> Subquery:
            query = select(Transfer.id, Transfer.created_at).where(
                column == account_id,
                Transfer.kind != TransferKind.void_pending.value,
                or_(Transfer.kind != TransferKind.pending.value, and_(still_open)),
            )
            if after is not None:
                query = query.where(tuple_(Transfer.created_at, Transfer.id) < after)
            newest = (Transfer.created_at.desc(), Transfer.id.desc())
            return query.order_by(*newest).limit(limit).subquery()

        debits, credits = side(Transfer.debit_account_id), side(Transfer.credit_account_id)
        both = union_all(
            select(debits.c.id, debits.c.created_at), select(credits.c.id, credits.c.created_at)
        ).subquery()
        return select(both.c.id).order_by(both.c.created_at.desc(), both.c.id.desc()).limit(limit)

    async def lines(
        self, account_id: str, *, limit: int, after: tuple[datetime, str] | None
    ) -> list[WalletLine]:
        """The wallet's posted movements and its open holds, newest first, by keyset.

        A hold that was posted shows once, as its posting; one that was voided not at all,
        since no money moved. Both sides use the ledger's per-account indexes."""
        hold = aliased(Transfer)
        hold_entry = aliased(JournalEntry)
        page = self._page(account_id, limit=limit, after=after)
        query = (
            select(
                Transfer.id,
                Transfer.kind,
                JournalEntry.kind,
                JournalEntry.reference,
                hold_entry.kind,
                hold_entry.reference,
                Transfer.debit_account_id,
                Transfer.amount,
                Transfer.created_at,
            )
            .join(JournalEntry, JournalEntry.id == Transfer.entry_id)
            .outerjoin(hold, hold.id == Transfer.pending_id)
            .outerjoin(hold_entry, hold_entry.id == hold.entry_id)
            .where(Transfer.id.in_(page))
            .order_by(Transfer.created_at.desc(), Transfer.id.desc())
        )
        return [
            WalletLine(
                transfer_id=row[0],
                transfer_kind=row[1],
                entry_kind=row[4] if row[4] is not None else row[2],
                reference=row[5] if row[5] is not None else row[3],
                debit_account_id=row[6],
                amount=int(row[7]),
                created_at=row[8],
            )
            for row in await self.session.execute(query)
        ]
