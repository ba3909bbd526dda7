"""Blocking cards (by fingerprint) and accounts, by staff or by a rule, always audited."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts import service as account_service
from topup.accounts.models import Customer
from topup.kit import clock
from topup.kit.errors import InvalidInput, NotFound
from topup.risk import audit
from topup.risk.models import CardBlock
from topup.risk.repository import RiskRepository

REASON_MAX_LENGTH = 200


def checked_reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > REASON_MAX_LENGTH:
        raise InvalidInput(
            f"Give the reason in 1 to {REASON_MAX_LENGTH} characters.",
            code="invalid_reason",
            field="reason",
        )
    return text


async def block_card(
    session: AsyncSession,
    fingerprint: str,
    *,
    reason: str,
    actor: str,
    customer_id: str | None = None,
) -> CardBlock:
    repository = RiskRepository(session)
    existing = await repository.card_block(fingerprint)
    if existing is not None:
        return existing
    block = CardBlock(
        fingerprint=fingerprint,
        reason=checked_reason(reason),
        blocked_by=actor,
        created_at=clock.now(),
    )
    repository.add(block)
    audit.record(
        session,
        kind="block",
        outcome="card_blocked",
        actor=actor,
        customer_id=customer_id,
        inputs={"fingerprint": fingerprint, "reason": block.reason},
    )
    await session.flush()
    return block


async def unblock_card(session: AsyncSession, fingerprint: str, *, actor: str) -> None:
    repository = RiskRepository(session)
    block = await repository.card_block(fingerprint)
    if block is None:
        raise NotFound("This card is not blocked.", code="not_found")
    await repository.remove_card_block(block)
    audit.record(
        session,
        kind="unblock",
        outcome="card_unblocked",
        actor=actor,
        inputs={"fingerprint": fingerprint},
    )


async def block_customer(
    session: AsyncSession, customer_id: str, *, reason: str, actor: str
) -> Customer:
    customer = await account_service.set_blocked(session, customer_id, reason=reason)
    audit.record(
        session,
        kind="block",
        outcome="account_blocked",
        actor=actor,
        customer_id=customer_id,
        inputs={"reason": customer.block_reason},
    )
    return customer


async def unblock_customer(session: AsyncSession, customer_id: str, *, actor: str) -> Customer:
    customer = await account_service.set_blocked(session, customer_id, reason=None)
    audit.record(
        session,
        kind="unblock",
        outcome="account_unblocked",
        actor=actor,
        customer_id=customer_id,
    )
    return customer
