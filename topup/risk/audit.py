"""Writing the audit log: every risk decision, by a rule or by a person, as one row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit import clock
from topup.kit.ids import new_id
from topup.risk.models import RiskDecision
from topup.risk.repository import RiskRepository

SYSTEM = "system"


def record(
    session: AsyncSession,
    *,
    kind: str,
    outcome: str,
    actor: str = SYSTEM,
    order_id: str | None = None,
    customer_id: str | None = None,
    rule_id: str | None = None,
    inputs: dict[str, Any] | None = None,
    score: int | None = None,
) -> RiskDecision:
    decision = RiskDecision(
        id=new_id("rd"),
        kind=kind,
        order_id=order_id,
        customer_id=customer_id,
        rule_id=rule_id,
        inputs=inputs or {},
        score=score,
        outcome=outcome,
        actor=actor,
        created_at=clock.now(),
    )
    RiskRepository(session).add(decision)
    return decision
