"""Judging an order before its card is touched: blocks, market rules, the duplicate
warning, rolling-window limits and fraud signals, inside the order's own transaction.

The checks of one customer, recipient number and card run one at a time (``lock``), so
two orders placed at once cannot both slip under a limit that only one of them fits.
Every judgement is written to the audit log with what it was based on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.repository import AccountRepository
from topup.accounts.service import ensure_can_buy
from topup.kit import clock
from topup.kit.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from topup.orders.models import Order
from topup.risk import audit
from topup.risk.blocks import block_card, block_customer
from topup.risk.models import LimitRule, LimitScope, Outcome, RiskThresholds
from topup.risk.repository import RiskRepository, Window
from topup.risk.signals import Draft, Fired, fired_signals


@dataclass(frozen=True)
class Assessment:
    outcome: Outcome
    score: int
    failure_code: str | None = None
    failure_message: str | None = None


async def assess(session: AsyncSession, draft: Draft) -> Assessment:
    """Allow, hold for review, or reject the order; raise for what the buyer can fix."""
    repository = RiskRepository(session)
    now = clock.now()
    keys = [f"customer:{draft.customer.id}", f"recipient:{draft.recipient}"]
    if draft.card_fingerprint:
        keys.append(f"card:{draft.card_fingerprint}")
    await repository.lock(keys, now)
    # The account as it is now, under the lock: it may have been blocked since the request
    # was authenticated, and another order of it may have just been stored.
    customer = await AccountRepository(session).customer_for_purchase(draft.customer.id)
    if customer is None:
        raise Unauthorized("Log in again.", code="unauthorized")
    draft = replace(draft, customer=ensure_can_buy(customer))
    await _refuse_a_blocked_card(repository, draft)
    market = await _market_refusal(repository, draft)
    thresholds = await repository.thresholds()
    if market is None and thresholds is not None:
        await _warn_of_a_duplicate(repository, draft, thresholds.duplicate_window_seconds)
    breach, windows = await _limits(repository, draft)
    fired = await fired_signals(repository, draft, now)
    score = sum(signal.weight for signal in fired)
    assessment = _verdict(market or breach, score, thresholds)
    blocked = await _block_as_told(repository, draft, fired)
    if blocked is not None and assessment.outcome is not Outcome.reject:
        what = "account" if blocked == "account_blocked" else "card"
        assessment = Assessment(
            Outcome.reject, score, blocked, f"A fraud rule blocked this {what}."
        )
    audit.record(
        session,
        kind="order",
        order_id=draft.order_id,
        customer_id=draft.customer.id,
        rule_id=_rule_of(market or breach, fired),
        inputs={
            "recipient": draft.recipient,
            "market": draft.market,
            "price": draft.price,
            "card_country": draft.card_country,
            "limits": windows,
            "signals": [{"id": f.signal_id, "weight": f.weight, **f.evidence} for f in fired],
        },
        score=score,
        outcome=assessment.outcome.value,
    )
    return assessment


@dataclass(frozen=True)
class _Refusal:
    rule_id: str
    code: str
    message: str


async def _refuse_a_blocked_card(repository: RiskRepository, draft: Draft) -> None:
    if draft.card_fingerprint and await repository.card_block(draft.card_fingerprint):
        raise Forbidden(
            "This card is blocked and may not pay; use another card.",
            code="card_blocked",
            field="payment",
        )


async def _market_refusal(repository: RiskRepository, draft: Draft) -> _Refusal | None:
    rule = await repository.market_rule(draft.market)
    if rule is None or not rule.enabled:
        return None
    customer = draft.customer
    rule_id = f"market-{rule.market}"
    if rule.min_age is not None:
        if customer.date_of_birth is None:
            raise InvalidInput(
                f"Top-ups to this country need your date of birth: add it with PATCH /v1/me "
                f"(buyers must be {rule.min_age} or older).",
                code="profile_incomplete",
                field="date_of_birth",
            )
        if age_on(customer.date_of_birth, clock.now().date()) < rule.min_age:
            return _Refusal(
                rule_id,
                "market_restricted",
                f"Top-ups to this country are for buyers {rule.min_age} or older.",
            )
    if rule.residence_required:
        if customer.residence_country is None:
            raise InvalidInput(
                "Top-ups to this country need your country of residence: add it with PATCH /v1/me.",
                code="profile_incomplete",
                field="residence_country",
            )
        if customer.residence_country != rule.market:
            return _Refusal(
                rule_id, "market_restricted", "Top-ups to this country are for its residents."
            )
    return None


def age_on(born: date, today: date) -> int:
    """Whole years lived by ``today`` (a birthday on 29 February counts on 1 March)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


async def _warn_of_a_duplicate(repository: RiskRepository, draft: Draft, window: int) -> None:
    if draft.confirm_duplicate or window <= 0:
        return
    since = clock.now() - timedelta(seconds=window)
    earlier = await repository.latest_to(draft.customer.id, draft.recipient, since=since)
    if earlier is not None:
        raise Conflict(
            f"You topped up {draft.recipient} moments ago ({earlier.id}). To send another, "
            "repeat the request with confirm_duplicate: true.",
            code="duplicate_recipient",
            field="confirm_duplicate",
        )


async def _limits(
    repository: RiskRepository, draft: Draft
) -> tuple[_Refusal | None, list[dict[str, Any]]]:
    """The first limit this order would break, and every window's totals before it."""
    rules: list[LimitRule] = []
    windows: list[Window] = []
    for rule in await repository.limit_rules():
        scope = _scope_filter(rule, draft)
        if scope is None or (rule.market is not None and rule.market != draft.market):
            continue
        since = clock.now() - timedelta(seconds=rule.window_seconds)
        rules.append(rule)
        windows.append(Window(scope, since, rule.market))
    totals = await repository.window_totals(windows)
    seen: list[dict[str, Any]] = []
    breach: _Refusal | None = None
    for rule, (count, amount) in zip(rules, totals, strict=True):
        seen.append({"rule": rule.id, "count": count, "amount": amount})
        if breach is None and _breaks(rule, count, amount, draft.price):
            message = f"Limit reached: {rule.description}."
            breach = _Refusal(rule.id, "limit_exceeded", message[:200])  # the column's size
    return breach, seen


def _scope_filter(rule: LimitRule, draft: Draft) -> Any:
    if rule.scope == LimitScope.customer:
        return Order.customer_id == draft.customer.id
    if rule.scope == LimitScope.recipient:
        return Order.recipient_phone == draft.recipient
    if rule.scope == LimitScope.card and draft.card_fingerprint:
        return Order.card_fingerprint == draft.card_fingerprint
    return None


def _breaks(rule: LimitRule, count: int, amount: int, price: int) -> bool:
    too_many = rule.max_count is not None and count + 1 > rule.max_count
    too_much = rule.max_amount is not None and amount + price > rule.max_amount
    return too_many or too_much


def _verdict(refusal: _Refusal | None, score: int, thresholds: RiskThresholds | None) -> Assessment:
    if refusal is not None:
        return Assessment(Outcome.reject, score, refusal.code, refusal.message)
    if thresholds is None:  # no rules loaded: nothing to score against
        return Assessment(Outcome.allow, score)
    if score >= thresholds.reject_score:
        return Assessment(
            Outcome.reject, score, "fraud_suspected", "This order cannot be accepted."
        )
    if score >= thresholds.review_score:
        return Assessment(Outcome.review, score)
    return Assessment(Outcome.allow, score)


def _rule_of(refusal: _Refusal | None, fired: list[Fired]) -> str | None:
    if refusal is not None:
        return refusal.rule_id
    return ",".join(signal.signal_id for signal in fired) or None


async def _block_as_told(
    repository: RiskRepository, draft: Draft, fired: list[Fired]
) -> str | None:
    """A fired signal whose parameters say so blocks the card (``block_card``, e.g. one
    card on many accounts) or the account (``block_account``) at once, audited like a
    block by staff. Returns the failure code that says so, if any."""
    blocked: str | None = None
    for signal in fired:
        reason = f"automatic: {signal.description}"
        if signal.params.get("block_card") and draft.card_fingerprint:
            await block_card(
                repository.session,
                draft.card_fingerprint,
                reason=reason,
                actor=audit.SYSTEM,
                customer_id=draft.customer.id,
            )
            blocked = blocked or "card_blocked"
        if signal.params.get("block_account"):
            await block_customer(
                repository.session, draft.customer.id, reason=reason, actor=audit.SYSTEM
            )
            blocked = "account_blocked"
    return blocked
