"""Fundings a crash or an outage left open, finished by the worker (``topup.wallet.tasks``)
or by the retried request, on both databases: the card is charged once, the wallet
credited once, and the retried request answers with how the funding ended."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.wallet.support import (
    DECLINED_CARD,
    Account,
    NewAccount,
    assert_ledger_clean,
    card_payments,
    fund,
    fund_body,
    fundings_of,
    wallet_credits,
    wallet_figures,
    worker_round_after_the_lease,
)
from topup.idempotency.service import IN_FLIGHT_LOCK
from topup.kit import clock, faults
from topup.providers.payments.base import GatewayUnavailable
from topup.runtime import Runtime
from topup.wallet.models import FundingStatus
from topup.wallet.service import LEASE
from topup.wallet.tasks import run_due

# Where a request can die, and what the gateway and the funding then hold: the card was
# asked, and the funding does not know it yet.
CRASH_POINTS = {
    "funding.authorized_at_gateway": ("authorized", FundingStatus.created),
    "funding.captured_at_gateway": ("captured", FundingStatus.authorized),
}
KEY = "crashed"


async def crash_in_the_request(
    client: httpx.AsyncClient, runtime: Runtime, account: Account, point: str
) -> None:
    """The request dies at ``point`` (the app answers 500), its key still locked."""
    faults.arm(point)
    crashed = await fund(client, account, fund_body(2000), key=KEY)
    assert crashed.status_code == 500
    [payment] = await card_payments(runtime, account.id)
    [funding] = await fundings_of(runtime, account.id)
    assert (payment.status, funding.status) == CRASH_POINTS[point]  # it died where meant to


async def status_of(runtime: Runtime, customer_id: str) -> str:
    [funding] = await fundings_of(runtime, customer_id)
    return funding.status


async def assert_charged_and_credited_once(runtime: Runtime, customer_id: str) -> None:
    [payment] = await card_payments(runtime, customer_id)
    assert (payment.status, payment.captured) == ("captured", 2000)
    assert await wallet_credits(runtime, customer_id) == [2000]
    assert await status_of(runtime, customer_id) == FundingStatus.credited
    await assert_ledger_clean(runtime)


async def gateway_away(*args: Any, **kwargs: Any) -> None:
    raise GatewayUnavailable("the card network did not answer")


@pytest.mark.parametrize("point", CRASH_POINTS)
async def test_a_funding_the_request_crashed_in_is_finished_by_the_worker(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount, point: str
) -> None:
    account = await accounts()
    await crash_in_the_request(client, runtime, account, point)
    assert await wallet_figures(client, account) == (0, 0, 0)
    # Within its lease the dead request's funding is nobody's to take yet.
    await run_due(runtime.funding_deps())
    assert await status_of(runtime, account.id) == CRASH_POINTS[point][1]
    # While the dead request's key is locked, a retry is told to wait, not charged again.
    waiting = await fund(client, account, fund_body(2000), key=KEY)
    assert (waiting.status_code, waiting.json()["error"]["code"]) == (409, "idempotency_key_in_use")

    await worker_round_after_the_lease(runtime)

    await assert_charged_and_credited_once(runtime, account.id)
    assert await wallet_figures(client, account) == (2000, 0, 2000)
    clock.advance(IN_FLIGHT_LOCK.total_seconds())  # the dead request's lock has lapsed
    retried = await fund(client, account, fund_body(2000), key=KEY)
    assert retried.status_code == 201, retried.text
    assert retried.json()["balance"] == {"amount": 2000, "currency": "EUR"}
    replayed = await fund(client, account, fund_body(2000), key=KEY)
    assert (replayed.status_code, replayed.json()) == (201, retried.json())
    await worker_round_after_the_lease(runtime)
    await assert_charged_and_credited_once(runtime, account.id)


@pytest.mark.parametrize("point", CRASH_POINTS)
async def test_a_funding_the_request_crashed_in_is_finished_by_the_retried_request(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount, point: str
) -> None:
    """The customer retries before any worker ran: the retry takes the key over once the
    dead request's lock lapses and resumes the same funding; the worker finds nothing."""
    account = await accounts()
    await crash_in_the_request(client, runtime, account, point)
    clock.advance(IN_FLIGHT_LOCK.total_seconds() + 1)

    retried = await fund(client, account, fund_body(2000), key=KEY)

    assert retried.status_code == 201, retried.text
    assert retried.json()["balance"] == {"amount": 2000, "currency": "EUR"}
    await worker_round_after_the_lease(runtime)
    await assert_charged_and_credited_once(runtime, account.id)


async def test_a_declined_card_found_after_a_crash_is_declined_and_the_retry_says_so(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    body = fund_body(2000, number=DECLINED_CARD)
    faults.arm("funding.authorized_at_gateway")
    assert (await fund(client, account, body, key=KEY)).status_code == 500

    await worker_round_after_the_lease(runtime)
    clock.advance(IN_FLIGHT_LOCK.total_seconds())
    retried = await fund(client, account, body, key=KEY)

    assert await status_of(runtime, account.id) == FundingStatus.declined
    assert (retried.status_code, retried.json()["error"]["code"]) == (402, "card_declined")
    [payment] = await card_payments(runtime, account.id)
    assert payment.status == "declined"
    assert await wallet_credits(runtime, account.id) == []
    await assert_ledger_clean(runtime)


@pytest.mark.parametrize("call", ["authorize", "capture"])
async def test_a_gateway_away_gets_503_and_the_worker_finishes_the_funding(
    client: httpx.AsyncClient,
    runtime: Runtime,
    accounts: NewAccount,
    monkeypatch: pytest.MonkeyPatch,
    call: str,
) -> None:
    """An unknown outcome is never a decline: the funding stays open for the worker."""
    account = await accounts()
    monkeypatch.setattr(runtime.payment_gateway, call, gateway_away)
    response = await fund(client, account, fund_body(2000), key=KEY)
    monkeypatch.undo()

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "60"
    assert await wallet_figures(client, account) == (0, 0, 0)
    await worker_round_after_the_lease(runtime)
    await assert_charged_and_credited_once(runtime, account.id)
    clock.advance(IN_FLIGHT_LOCK.total_seconds())
    retried = await fund(client, account, fund_body(2000), key=KEY)
    assert retried.status_code == 201, retried.text
    assert await wallet_figures(client, account) == (2000, 0, 2000)


async def test_a_worker_round_that_fails_leaves_the_funding_for_the_next_round(
    client: httpx.AsyncClient,
    runtime: Runtime,
    accounts: NewAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = await accounts()
    await crash_in_the_request(client, runtime, account, "funding.authorized_at_gateway")
    monkeypatch.setattr(runtime.payment_gateway, "capture", gateway_away)

    await worker_round_after_the_lease(runtime)  # logs the failure and carries on

    assert await status_of(runtime, account.id) == FundingStatus.authorized
    monkeypatch.undo()
    await worker_round_after_the_lease(runtime)
    await assert_charged_and_credited_once(runtime, account.id)


@pytest.mark.parametrize("point", CRASH_POINTS)
async def test_workers_and_the_retried_request_racing_credit_a_funding_once(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount, point: str
) -> None:
    """The request path takes no lease: a retry may resume a funding while workers do."""
    account = await accounts()
    await crash_in_the_request(client, runtime, account, point)
    clock.advance(max(LEASE, IN_FLIGHT_LOCK).total_seconds() + 1)

    retried, *_ = await asyncio.gather(
        fund(client, account, fund_body(2000), key=KEY),
        *(run_due(runtime.funding_deps()) for _ in range(3)),
    )

    assert isinstance(retried, httpx.Response)
    assert retried.status_code == 201, retried.text
    await assert_charged_and_credited_once(runtime, account.id)
