"""The risk rules as data: loading the shipped defaults, and the admin API's edits.

Every change is audited with who made it and what the rule became.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit import clock
from topup.kit.errors import InvalidInput, NotFound
from topup.risk import audit
from topup.risk.models import FraudSignalRule, LimitRule, MarketRule, RiskThresholds
from topup.risk.repository import RiskRepository
from topup.risk.schemas import DefaultsFile, LimitRuleIn, MarketRuleIn, SignalRuleIn, ThresholdsIn
from topup.risk.signals import CHECKS, PARAMS

DEFAULTS = Path(__file__).with_name("data") / "defaults.json"
RuleRow = TypeVar("RuleRow", LimitRule, MarketRule, RiskThresholds)


def read_defaults(path: Path = DEFAULTS) -> DefaultsFile:
    return DefaultsFile.model_validate(json.loads(path.read_text(encoding="utf-8")))


async def load_defaults(session: AsyncSession, document: DefaultsFile | None = None) -> bool:
    """Load the shipped rules into a database that has none; False if it already had."""
    repository = RiskRepository(session)
    if await repository.has_rules():
        return False
    document = document or read_defaults()
    now = clock.now()
    repository.add(RiskThresholds(id=1, updated_at=now, **document.thresholds.model_dump()))
    for limit in document.limits:
        repository.add(LimitRule(updated_at=now, **limit.model_dump()))
    for market in document.markets:
        repository.add(MarketRule(updated_at=now, **market.model_dump()))
    for signal in document.signals:
        signal.params = checked_params(signal.id, signal.params)
        repository.add(FraudSignalRule(updated_at=now, **signal.model_dump()))
    await session.flush()
    return True


async def put_limit_rule(
    session: AsyncSession, rule_id: str, body: LimitRuleIn, *, actor: str
) -> LimitRule:
    rule = await RiskRepository(session).limit_rule(rule_id) or LimitRule(id=rule_id)
    return await _saved(session, rule, body, audited_as=rule_id, actor=actor)


async def put_market_rule(
    session: AsyncSession, market: str, body: MarketRuleIn, *, actor: str
) -> MarketRule:
    rule = await RiskRepository(session).market_rule(market) or MarketRule(market=market)
    return await _saved(session, rule, body, audited_as=f"market-{market}", actor=actor)


async def _saved(
    session: AsyncSession, rule: RuleRow, body: BaseModel, *, audited_as: str, actor: str
) -> RuleRow:
    """``rule`` (new or stored) set to ``body``, stored, and the change audited."""
    for name, value in body.model_dump().items():
        setattr(rule, name, value)
    rule.updated_at = clock.now()
    session.add(rule)
    _audit_change(session, audited_as, body.model_dump(mode="json"), actor)
    await session.flush()
    return rule


async def put_signal_rule(
    session: AsyncSession, signal_id: str, body: SignalRuleIn, *, actor: str
) -> FraudSignalRule:
    """Signals are code; only their weight, parameters and switch are data."""
    rule = await RiskRepository(session).signal_rule(signal_id)
    if rule is None or signal_id not in CHECKS:
        raise NotFound(f"No fraud signal {signal_id}.", code="not_found")
    params = checked_params(signal_id, body.params)
    rule.weight, rule.params, rule.enabled = body.weight, params, body.enabled
    rule.updated_at = clock.now()
    _audit_change(session, signal_id, body.model_dump(mode="json"), actor)
    await session.flush()
    return rule


async def put_thresholds(
    session: AsyncSession, body: ThresholdsIn, *, actor: str
) -> RiskThresholds:
    thresholds = await RiskRepository(session).thresholds() or RiskThresholds(id=1)
    return await _saved(session, thresholds, body, audited_as="thresholds", actor=actor)


def checked_params(signal_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The signal's parameters as its check reads them; 422 naming the one that is wrong."""
    model = PARAMS.get(signal_id)
    if model is None:
        raise NotFound(f"No fraud signal {signal_id}.", code="not_found")
    try:
        checked: dict[str, Any] = model.model_validate(params).model_dump()
        return checked
    except ValidationError as error:
        first = error.errors()[0]
        place = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(
            f"params.{place}: {first['msg']}", code="invalid_field", field=f"params.{place}"
        ) from None


def _audit_change(session: AsyncSession, rule_id: str, rule: dict[str, object], actor: str) -> None:
    audit.record(
        session,
        kind="rule",
        outcome="rule_changed",
        actor=actor,
        rule_id=rule_id,
        inputs=dict(rule),
    )
