"""Every query of refunds: stored policies and refund requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from topup.refunds.models import RefundPolicyRow, RefundRequest, RefundStatus

ACTING_STATUSES = (RefundStatus.requested.value, RefundStatus.approved.value)


class RefundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: RefundPolicyRow | RefundRequest) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # ---- policies ------------------------------------------------------------------------

    async def policy(
        self, product_type: str, *, for_update: bool = False
    ) -> RefundPolicyRow | None:
        return await self.session.get(
            RefundPolicyRow, product_type, with_for_update=for_update, populate_existing=for_update
        )

    async def policies(self) -> Sequence[RefundPolicyRow]:
        query = select(RefundPolicyRow).order_by(RefundPolicyRow.product_type)
        return (await self.session.scalars(query)).all()

    # ---- requests ------------------------------------------------------------------------

    async def request(self, request_id: str, *, for_update: bool = False) -> RefundRequest | None:
        return await self.session.get(
            RefundRequest, request_id, with_for_update=for_update, populate_existing=for_update
        )

    async def request_of(self, customer_id: str, request_id: str) -> RefundRequest | None:
        query = select(RefundRequest).where(
            RefundRequest.id == request_id, RefundRequest.customer_id == customer_id
        )
        return await self.session.scalar(query)

    async def request_by_key(self, customer_id: str, key: str) -> RefundRequest | None:
        query = select(RefundRequest).where(
            RefundRequest.customer_id == customer_id, RefundRequest.idempotency_key == key
        )
        return await self.session.scalar(query)

    async def page_of(
        self, customer_id: str, *, limit: int, after: tuple[datetime, str] | None
    ) -> Sequence[RefundRequest]:
        query = select(RefundRequest).where(RefundRequest.customer_id == customer_id)
        return await self._page(query, limit=limit, after=after)

    async def staff_page(
        self,
        *,
        status: str | None,
        overdue_at: datetime | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[RefundRequest]:
        """Requests for support, newest first; ``overdue_at`` keeps only those still
        unanswered past their answer date at that moment."""
        query = select(RefundRequest)
        if status is not None:
            query = query.where(RefundRequest.status == status)
        if overdue_at is not None:
            query = query.where(
                RefundRequest.status == RefundStatus.requested.value,
                RefundRequest.answer_by < overdue_at,
            )
        return await self._page(query, limit=limit, after=after)

    async def _page(
        self, query: Select[RefundRequest], *, limit: int, after: tuple[datetime, str] | None
    ) -> Sequence[RefundRequest]:
        if after is not None:
            query = query.where(tuple_(RefundRequest.created_at, RefundRequest.id) < after)
        query = query.order_by(RefundRequest.created_at.desc(), RefundRequest.id.desc())
        return (await self.session.scalars(query.limit(limit))).all()

    async def leave_requested(self, request_id: str, **values: object) -> bool:
        """Change a request that still waits for a decision; False when someone (a person,
        or the supplier check) decided first. One conditional UPDATE, so it holds on SQLite
        too, where FOR UPDATE locks nothing."""
        result = await self.session.execute(
            update(RefundRequest)
            .where(
                RefundRequest.id == request_id,
                RefundRequest.status == RefundStatus.requested.value,
            )
            .values(**values),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def has_open_request(self, customer_id: str) -> bool:
        """A request not yet paid or rejected: money may still move for it."""
        query = select(RefundRequest.id).where(
            RefundRequest.customer_id == customer_id,
            RefundRequest.status.in_(ACTING_STATUSES),
        )
        return (await self.session.scalar(query.limit(1))) is not None

    async def due_ids(self, now: datetime, *, limit: int) -> Sequence[str]:
        query = (
            select(RefundRequest.id)
            .where(RefundRequest.status.in_(ACTING_STATUSES), RefundRequest.due_at <= now)
            .order_by(RefundRequest.due_at)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def take(self, request_id: str, *, now: datetime, lease_until: datetime) -> bool:
        """Lease a due request to this worker: one conditional UPDATE, as for orders."""
        result = await self.session.execute(
            update(RefundRequest)
            .where(
                RefundRequest.id == request_id,
                RefundRequest.status.in_(ACTING_STATUSES),
                RefundRequest.due_at <= now,
            )
            .values(due_at=lease_until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))
