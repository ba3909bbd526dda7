"""Fraud signals: each looks at the account, the card and recent orders, and fires or
not. A fired signal adds its weight to the order's score (``service.assess``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from topup.accounts.models import Customer
from topup.risk.repository import RiskRepository


@dataclass(frozen=True)
class Draft:
    """What is known of an order before it exists: enough to judge it."""

    order_id: str
    customer: Customer
    recipient: str
    market: str
    price: int  # EUR cents
    card_fingerprint: str | None
    card_country: str | None
    confirm_duplicate: bool


@dataclass(frozen=True)
class Fired:
    signal_id: str
    weight: int
    evidence: dict[str, Any]
    params: dict[str, Any]  # the rule's, e.g. whether firing blocks the card
    description: str


class Params(BaseModel):
    """What every signal's parameters may say: whether firing blocks the card or account."""

    model_config = ConfigDict(extra="forbid")

    block_card: bool = False
    block_account: bool = False


class WindowParams(Params):
    window_seconds: Annotated[int, Field(ge=60, le=366 * 86400)]


class CardsParams(WindowParams):
    cards: Annotated[int, Field(ge=1, le=1000)]


class AccountsParams(WindowParams):
    accounts: Annotated[int, Field(ge=1, le=1000)]


class DeclinesParams(WindowParams):
    declines: Annotated[int, Field(ge=1, le=1000)]


class RecipientsParams(WindowParams):
    recipients: Annotated[int, Field(ge=1, le=1000)]


class NewAccountParams(Params):
    account_age_seconds: Annotated[int, Field(ge=60, le=366 * 86400)]
    min_amount: Annotated[int, Field(ge=0, le=100_000_000)]  # EUR cents


# Each signal's parameters, checked when a rule is saved, so an order never meets a
# parameter it cannot read.
PARAMS: dict[str, type[Params]] = {
    "card_country_mismatch": Params,
    "many_cards_on_account": CardsParams,
    "card_on_many_accounts": AccountsParams,
    "decline_burst": DeclinesParams,
    "new_account_big_order": NewAccountParams,
    "many_recipients": RecipientsParams,
}


Check = Callable[
    [RiskRepository, Draft, dict[str, Any], datetime], Awaitable[dict[str, Any] | None]
]


def _since(now: datetime, params: dict[str, Any]) -> datetime:
    return now - timedelta(seconds=int(params["window_seconds"]))


async def card_country_mismatch(
    repository: RiskRepository, draft: Draft, params: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    # The phone's country, which an account cannot change (a new phone is a new account);
    # the residence the customer states is no alibi for a foreign card.
    home = draft.customer.country_iso2 or draft.customer.residence_country
    if draft.card_country and home and draft.card_country != home:
        return {"card_country": draft.card_country, "account_country": home}
    return None


async def many_cards_on_account(
    repository: RiskRepository, draft: Draft, params: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    cards = await repository.distinct_cards(draft.customer.id, since=_since(now, params))
    if draft.card_fingerprint:
        cards.add(draft.card_fingerprint)
    return {"cards": len(cards)} if len(cards) > int(params["cards"]) else None


async def card_on_many_accounts(
    repository: RiskRepository, draft: Draft, params: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    if not draft.card_fingerprint:
        return None
    accounts = await repository.accounts_of_card(draft.card_fingerprint, since=_since(now, params))
    accounts.add(draft.customer.id)
    return {"accounts": len(accounts)} if len(accounts) > int(params["accounts"]) else None


async def decline_burst(
    repository: RiskRepository, draft: Draft, params: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    declines = await repository.declines(draft.customer.id, since=_since(now, params))
    return {"declines": declines} if declines >= int(params["declines"]) else None


async def new_account_big_order(
    repository: RiskRepository, draft: Draft, params: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    age = (now - draft.customer.created_at).total_seconds()
    if age < int(params["account_age_seconds"]) and draft.price >= int(params["min_amount"]):
        return {"account_age_seconds": int(age), "price": draft.price}
    return None


async def many_recipients(
    repository: RiskRepository, draft: Draft, params: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    numbers = await repository.distinct_recipients(draft.customer.id, since=_since(now, params))
    numbers.add(draft.recipient)
    return {"recipients": len(numbers)} if len(numbers) > int(params["recipients"]) else None


CHECKS: dict[str, Check] = {
    "card_country_mismatch": card_country_mismatch,
    "many_cards_on_account": many_cards_on_account,
    "card_on_many_accounts": card_on_many_accounts,
    "decline_burst": decline_burst,
    "new_account_big_order": new_account_big_order,
    "many_recipients": many_recipients,
}


async def fired_signals(repository: RiskRepository, draft: Draft, now: datetime) -> list[Fired]:
    fired = []
    for rule in await repository.signal_rules():
        check = CHECKS.get(rule.id)
        if not rule.enabled or check is None:
            continue
        evidence = await check(repository, draft, rule.params, now)
        if evidence is not None:
            fired.append(Fired(rule.id, rule.weight, evidence, rule.params, rule.description))
    return fired
