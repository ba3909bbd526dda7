"""Operators' promotions: the supplier's list synced in, and an admin's entered by hand.

A promotion is shown on the products of its operator (or only on the ones it names) while
``starts_at <= now < ends_at``, if an admin has not switched it off and its supplier still
lists it. It is information for the buyer: the operator adds the bonus on its side, so no
price, order amount or ledger line depends on it.

Every change here bumps the catalogue version, so every API node re-reads its snapshot;
the snapshot itself follows the windows opening and closing (see ``snapshot.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.catalogue.models import MANUAL_SUPPLIER, OperatorPromotion, PromotionSync
from topup.catalogue.repository import CatalogueRepository, PromotionSyncRepository
from topup.catalogue.schemas import PromotionIn, PromotionPatch
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.errors import InvalidInput, NotFound
from topup.kit.ids import new_id
from topup.providers.suppliers.base import PromotionSource, SupplierPromotion

log = structlog.get_logger(__name__)

# Aggregators change their promotions a few times a week; an hour keeps a new one from
# waiting long without asking the supplier's paged list more than 24 times a day.
SYNC_EVERY = timedelta(hours=1)
# A sync is a few supplier pages; past this its worker is taken for dead.
SYNC_LEASE = timedelta(minutes=5)
# The fields a sync owns. ``enabled`` is the admin's, and never among them.
SUPPLIER_FIELDS = (
    "operator_id",
    "title",
    "description",
    "bonus_percent",
    "bonus_text",
    "denominations",
    "starts_at",
    "ends_at",
)


@dataclass(frozen=True)
class SyncSummary:
    created: int = 0
    updated: int = 0
    withdrawn: int = 0
    skipped: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.withdrawn)


@dataclass(frozen=True)
class PromotionSyncDeps:
    session_factory: async_sessionmaker[AsyncSession]
    source: PromotionSource
    supplier: str
    # Drops this process's catalogue snapshot after a change, so it shows at once here.
    on_change: Callable[[], None] = lambda: None


# ---- the sync -----------------------------------------------------------------------------


async def apply_supplier_promotions(
    session: AsyncSession, supplier: str, published: Sequence[SupplierPromotion]
) -> SyncSummary:
    """Upsert what the supplier lists now; mark withdrawn what it no longer lists."""
    repository = CatalogueRepository(session)
    operators = await repository.operators_by_id()
    existing = await repository.promotions_of_supplier(supplier)
    now = clock.now()
    seen: set[str] = set()
    created = updated = skipped = 0
    for item in published:
        if item.operator_id not in operators or item.supplier_promotion_id in seen:
            skipped += 1
            continue
        seen.add(item.supplier_promotion_id)
        fields = {name: getattr(item, name) for name in SUPPLIER_FIELDS}
        row = existing.get(item.supplier_promotion_id)
        if row is None:
            repository.add(_new_row(supplier, item.supplier_promotion_id, fields, now))
            created += 1
        elif _assign(row, fields | {"withdrawn_at": None}):
            row.updated_at = now
            updated += 1
    withdrawn = 0
    for key, row in existing.items():
        if key not in seen and row.withdrawn_at is None:
            row.withdrawn_at = row.updated_at = now
            withdrawn += 1
    summary = SyncSummary(created, updated, withdrawn, skipped)
    if summary.changed:  # an unchanged hourly sync must not make every node re-read
        await session.flush()
        await repository.bump_version(now=now)
    return summary


async def sync_promotions(deps: PromotionSyncDeps) -> SyncSummary:
    """Ask the supplier (outside any transaction: it is a network call), then apply what
    it said and set the next sync, in one transaction."""
    async with unit_of_work(deps.session_factory) as session:
        operator_ids = [row.id for row in await CatalogueRepository(session).all_operators()]
    published = await deps.source.promotions(operator_ids)
    async with unit_of_work(deps.session_factory) as session:
        summary = await apply_supplier_promotions(session, deps.supplier, published)
        await _schedule_next(session, deps.supplier)
    if summary.changed:
        deps.on_change()
    log.info("promotions_synced", supplier=deps.supplier, **summary.__dict__)
    return summary


async def ensure_sync_row(deps: PromotionSyncDeps) -> None:
    """The supplier's sync row, due at once when it is new. Two workers may both try
    to create it; the unique key keeps one and the loser has nothing left to do."""
    try:
        async with unit_of_work(deps.session_factory) as session:
            repository = PromotionSyncRepository(session)
            if await repository.row(deps.supplier) is None:
                repository.add(PromotionSync(supplier=deps.supplier, due_at=clock.now()))
    except IntegrityError:
        pass


async def _schedule_next(session: AsyncSession, supplier: str) -> None:
    repository = PromotionSyncRepository(session)
    now = clock.now()
    if await repository.row(supplier) is None:
        repository.add(PromotionSync(supplier=supplier, due_at=now + SYNC_EVERY, synced_at=now))
        return
    await repository.finish(supplier, synced_at=now, next_at=now + SYNC_EVERY)


# ---- by hand ------------------------------------------------------------------------------


async def create_promotion(session: AsyncSession, body: PromotionIn) -> OperatorPromotion:
    repository = CatalogueRepository(session)
    await _check_operator_and_products(repository, body.operator_id, body.product_ids)
    _check_window(body.starts_at, body.ends_at)
    now = clock.now()
    row_id = new_id("opr")
    fields = body.model_dump(exclude={"enabled"})
    fields |= {name: fields[name].astimezone(UTC) for name in ("starts_at", "ends_at")}
    row = _new_row(MANUAL_SUPPLIER, row_id, fields, now, row_id=row_id)
    row.enabled = body.enabled
    repository.add(row)
    await session.flush()
    await repository.bump_version(now=now)
    return row


async def update_promotion(
    session: AsyncSession, promotion_id: str, body: PromotionPatch
) -> OperatorPromotion:
    repository = CatalogueRepository(session)
    row = await repository.promotion(promotion_id)
    if row is None:
        raise NotFound(
            f"No operator promotion {promotion_id!r}.",
            code="promotion_not_found",
            field="promotion_id",
        )
    changes = {name: _utc(getattr(body, name)) for name in sorted(body.model_fields_set)}
    _check_patch(row, changes)
    await _check_operator_and_products(
        repository, row.operator_id, changes.get("product_ids", row.product_ids)
    )
    _check_window(changes.get("starts_at", row.starts_at), changes.get("ends_at", row.ends_at))
    if _assign(row, changes):
        row.updated_at = clock.now()
        await session.flush()
        await repository.bump_version(now=row.updated_at)
    return row


async def promotion_page(
    session: AsyncSession,
    *,
    operator_id: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> Sequence[OperatorPromotion]:
    return await CatalogueRepository(session).promotion_page(
        operator_id=operator_id, limit=limit, after=after
    )


REQUIRED = frozenset({"title", "description", "starts_at", "ends_at", "enabled"})


def _check_patch(row: OperatorPromotion, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name in REQUIRED and value is None:
            raise InvalidInput(f"{name} cannot be null.", code="invalid_field", field=name)
        if row.supplier != MANUAL_SUPPLIER and name != "enabled":
            raise InvalidInput(
                f"This promotion comes from {row.supplier}: only `enabled` can change here,"
                " the rest comes back from the supplier at each sync.",
                code="supplier_promotion",
                field=name,
            )


async def _check_operator_and_products(
    repository: CatalogueRepository, operator_id: str, product_ids: list[str] | None
) -> None:
    if await repository.operator(operator_id) is None:
        raise InvalidInput(
            f"No operator {operator_id!r} in the catalogue.",
            code="operator_not_found",
            field="operator_id",
        )
    if not product_ids:
        return
    products = await repository.products_by_id()
    for product_id in product_ids:
        product = products.get(product_id)
        if product is None or product.operator_id != operator_id:
            raise InvalidInput(
                f"{product_id!r} is not a product of {operator_id}.",
                code="product_not_for_operator",
                field="product_ids",
            )


def _utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidInput(
            "A promotion must end after it starts.", code="invalid_window", field="ends_at"
        )


def _new_row(
    supplier: str,
    supplier_promotion_id: str,
    fields: dict[str, Any],
    now: datetime,
    *,
    row_id: str | None = None,
) -> OperatorPromotion:
    return OperatorPromotion(
        id=row_id or new_id("opr"),
        supplier=supplier,
        supplier_promotion_id=supplier_promotion_id,
        enabled=True,
        withdrawn_at=None,
        created_at=now,
        updated_at=now,
        **fields,
    )


def _assign(row: OperatorPromotion, fields: dict[str, Any]) -> bool:
    """Set what differs; True when anything did."""
    changed = False
    for name, value in fields.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed
