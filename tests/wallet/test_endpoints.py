"""``/v1/wallet`` and ``/v1/wallet/fund`` over HTTP, on both databases: a funding charges the
card once whatever is retried, credits the wallet once, and every refusal leaves the
wallet, the gateway and the ledger as they were."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.fixtures.customers import fresh_headers
from tests.orders.conftest import NEXT_YEAR, card
from tests.wallet.support import (
    DECLINED_CARD,
    GOOD_CARD,
    NO_FUNDS_CARD,
    NewAccount,
    assert_ledger_clean,
    card_payments,
    fund,
    fund_body,
    funded,
    fundings_of,
    pay_from_wallet,
    set_blocked,
    unique_card,
    wallet_credits,
    wallet_figures,
    wallet_of,
)
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.payments.models import SavedCard
from topup.providers.payments.base import GatewayUnavailable
from topup.risk.blocks import block_card
from topup.runtime import Runtime


def euros(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


def error_of(response: httpx.Response) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("field")


async def test_a_wallet_never_funded_is_empty(
    client: httpx.AsyncClient, accounts: NewAccount
) -> None:
    account = await accounts()

    assert await wallet_of(client, account) == {
        "balance": euros(0),
        "pending": euros(0),
        "available": euros(0),
        "frozen": False,
    }


async def test_the_wallet_needs_a_login(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/wallet")).status_code == 401
    assert (await client.post("/v1/wallet/fund", json=fund_body())).status_code == 401


async def test_funding_charges_the_card_and_credits_the_wallet(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()

    response = await fund(client, account, fund_body(2000))

    assert response.status_code == 201, response.text
    expected = {
        "balance": euros(2000),
        "pending": euros(0),
        "available": euros(2000),
        "frozen": False,
    }
    assert response.json() == expected
    assert await wallet_of(client, account) == expected
    [payment] = await card_payments(runtime, account.id)
    assert (payment.status, payment.amount, payment.captured) == ("captured", 2000, 2000)
    assert await wallet_credits(runtime, account.id) == [2000]
    await assert_ledger_clean(runtime)


async def test_fundings_add_up(client: httpx.AsyncClient, accounts: NewAccount) -> None:
    account = await accounts()

    await funded(client, account, 500)
    await funded(client, account, 25_000)

    assert await wallet_figures(client, account) == (25_500, 0, 25_500)


async def test_a_saved_card_funds_the_wallet(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    saved = await client.post("/v1/cards", json=card()["card"], headers=account.headers)
    assert saved.status_code == 201, saved.text
    body = {"amount": euros(1500), "payment": {"card_id": saved.json()["id"]}}

    response = await fund(client, account, body)

    assert response.status_code == 201, response.text
    assert await wallet_figures(client, account) == (1500, 0, 1500)
    [funding] = await fundings_of(runtime, account.id)
    assert (funding.card_id, funding.card_last4) == (saved.json()["id"], GOOD_CARD[-4:])


async def test_the_same_key_and_body_replay_the_answer_and_charge_once(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()

    first = await fund(client, account, fund_body(2000), key="fund-once")
    again = await fund(client, account, fund_body(2000), key="fund-once")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(await fundings_of(runtime, account.id)) == 1
    assert len(await card_payments(runtime, account.id)) == 1
    assert await wallet_credits(runtime, account.id) == [2000]
    assert await wallet_figures(client, account) == (2000, 0, 2000)


async def test_a_replay_answers_as_the_first_request_did_even_after_spending(
    client: httpx.AsyncClient, accounts: NewAccount
) -> None:
    """The stored answer is replayed, not a fresh balance: a retry is the same request."""
    account = await accounts()
    first = await fund(client, account, fund_body(2000), key="fund-once")
    assert (await pay_from_wallet(client, account)).status_code == 201

    again = await fund(client, account, fund_body(2000), key="fund-once")

    assert again.json() == first.json()
    assert (await wallet_figures(client, account))[0] < 2000


async def test_the_same_key_sent_at_once_charges_once(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()

    answers = await asyncio.gather(
        *(fund(client, account, fund_body(2000), key="one-key") for _ in range(8))
    )

    assert {answer.status_code for answer in answers} <= {201, 409}
    assert any(answer.status_code == 201 for answer in answers)
    for answer in answers:
        if answer.status_code == 409:  # only ever "wait", never another request's body
            assert error_of(answer)[1] == "idempotency_key_in_use"
    assert len(await card_payments(runtime, account.id)) == 1
    assert await wallet_credits(runtime, account.id) == [2000]
    await assert_ledger_clean(runtime)


async def test_the_same_key_with_another_body_is_409_and_charges_nothing_more(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    await fund(client, account, fund_body(2000), key="k1")

    other = await fund(client, account, fund_body(3000), key="k1")

    assert error_of(other) == (409, "idempotency_key_reused", "Idempotency-Key")
    assert len(await card_payments(runtime, account.id)) == 1
    assert await wallet_figures(client, account) == (2000, 0, 2000)


async def test_a_key_used_for_an_order_cannot_fund_the_wallet(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """Keys are scoped to the operation: a retried order never turns into a funding."""
    account = await accounts()
    await funded(client, account, 2000)
    assert (await pay_from_wallet(client, account, key="k1")).status_code == 201

    other = await fund(client, account, fund_body(2000), key="k1")

    assert error_of(other) == (409, "idempotency_key_reused", "Idempotency-Key")
    assert len(await card_payments(runtime, account.id)) == 1


async def test_keys_belong_to_one_customer(client: httpx.AsyncClient, accounts: NewAccount) -> None:
    first, second = await accounts(), await accounts()

    one = await fund(client, first, fund_body(1000), key="shared")
    two = await fund(client, second, fund_body(2000), key="shared")

    assert one.status_code == two.status_code == 201
    assert await wallet_figures(client, first) == (1000, 0, 1000)
    assert await wallet_figures(client, second) == (2000, 0, 2000)


async def test_a_funding_needs_an_idempotency_key(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()

    response = await client.post("/v1/wallet/fund", json=fund_body(), headers=account.headers)

    assert error_of(response) == (422, "idempotency_key_missing", "Idempotency-Key")
    assert await fundings_of(runtime, account.id) == []


@pytest.mark.parametrize(
    ("number", "code"), [(DECLINED_CARD, "card_declined"), (NO_FUNDS_CARD, "insufficient_funds")]
)
async def test_a_declined_card_credits_nothing_and_answers_402(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount, number: str, code: str
) -> None:
    account = await accounts()

    declined = await fund(client, account, fund_body(2000, number=number), key="declined")
    again = await fund(client, account, fund_body(2000, number=number), key="declined")

    assert error_of(declined) == (402, code, "payment")
    assert (again.status_code, again.json()) == (402, declined.json())
    [payment] = await card_payments(runtime, account.id)  # asked once, not twice
    assert (payment.status, payment.captured) == ("declined", 0)
    assert [funding.status for funding in await fundings_of(runtime, account.id)] == ["declined"]
    assert await wallet_credits(runtime, account.id) == []
    assert await wallet_figures(client, account) == (0, 0, 0)
    await assert_ledger_clean(runtime)


@pytest.mark.parametrize(("refused", "corrected"), [(499, 500), (25_001, 25_000)])
async def test_an_amount_outside_the_bounds_is_422_and_frees_the_key(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount, refused: int, corrected: int
) -> None:
    """The bounds are inclusive (500 and 25,000 cents); the refused request did nothing, so
    the same key serves the corrected one."""
    account = await accounts()

    response = await fund(client, account, fund_body(refused), key="retry-me")

    assert error_of(response) == (422, "amount_out_of_bounds", "amount.amount")
    assert await fundings_of(runtime, account.id) == []
    assert await card_payments(runtime, account.id) == []
    retried = await fund(client, account, fund_body(corrected), key="retry-me")
    assert retried.status_code == 201, retried.text
    assert await wallet_figures(client, account) == (corrected, 0, corrected)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (fund_body(2000, currency="USD"), "invalid_field", "amount.currency"),
        (fund_body(0), "invalid_field", "amount.amount"),
        (fund_body(-500), "invalid_field", "amount.amount"),
        (
            {"amount": euros(2000), "payment": {"card_id": "card_nope"}},
            "card_not_found",
            "payment.card_id",
        ),
        (fund_body(number="4242424242424241"), "invalid_card_number", "payment.card.number"),
        (fund_body(number="378282246310005"), "unsupported_card_brand", "payment.card.number"),
        (
            {"amount": euros(2000), "payment": card() | {"card_id": "card_nope"}},
            "invalid_field",
            "payment",
        ),
        ({"amount": euros(2000), "payment": {}}, "invalid_field", "payment"),
        (fund_body() | {"wallet": True}, "invalid_field", "wallet"),
        # Only a JSON integer is a card's month or year, as only one is an amount.
        (
            fund_body() | {"payment": card(exp_month=True)},
            "invalid_field",
            "payment.card.exp_month",
        ),
        (
            fund_body() | {"payment": card(exp_year=str(NEXT_YEAR))},
            "invalid_field",
            "payment.card.exp_year",
        ),
    ],
)
async def test_a_bad_funding_gets_a_clear_422_charges_nothing_and_frees_the_key(
    client: httpx.AsyncClient,
    runtime: Runtime,
    accounts: NewAccount,
    body: dict[str, Any],
    code: str,
    field: str,
) -> None:
    account = await accounts()

    response = await fund(client, account, body, key="retry-me")

    assert error_of(response) == (422, code, field)
    assert await fundings_of(runtime, account.id) == []
    assert (await fund(client, account, fund_body(), key="retry-me")).status_code == 201


async def test_a_blocked_account_cannot_fund_and_its_wallet_is_frozen(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    await funded(client, account, 2000)
    await set_blocked(runtime, account.id, "Chargeback under review")

    refused = await fund(client, account, fund_body(1000), key="while-blocked")
    spend = await pay_from_wallet(client, account)

    assert error_of(refused)[:2] == (403, "account_blocked")
    assert error_of(spend)[:2] == (403, "account_blocked")
    wallet = await wallet_of(client, account)
    assert wallet["frozen"] is True
    assert wallet["balance"] == euros(2000)  # frozen, not taken
    assert len(await card_payments(runtime, account.id)) == 1

    await set_blocked(runtime, account.id, None)
    unblocked = await fund(client, account, fund_body(1000), key="while-blocked")
    assert unblocked.status_code == 201, unblocked.text
    assert unblocked.json()["frozen"] is False
    assert await wallet_figures(client, account) == (3000, 0, 3000)


async def test_an_unconfirmed_phone_cannot_fund_the_wallet(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """Money added before the phone is confirmed could not be spent; the card is not asked."""
    account = await accounts(phone_verified=False)

    refused = await fund(client, account, fund_body(1000))

    assert error_of(refused)[:2] == (403, "phone_not_verified")
    assert await card_payments(runtime, account.id) == []


async def test_a_blocked_card_cannot_fund_the_wallet(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """A card staff blocked may not pay for a top-up; money it put in the wallet would
    pay for top-ups all the same, so it may not fund the wallet either."""
    account = await accounts()
    number = unique_card()
    saved = await client.post("/v1/cards", json=card(number)["card"], headers=account.headers)
    assert saved.status_code == 201, saved.text
    async with unit_of_work(runtime.session_factory) as session:
        stored = await session.get(SavedCard, saved.json()["id"])
        assert stored is not None
        await block_card(session, stored.fingerprint, reason="stolen", actor="staff")

    by_id = await fund(
        client,
        account,
        {"amount": euros(2000), "payment": {"card_id": saved.json()["id"]}},
        key="blocked",
    )
    typed_in = await fund(client, account, fund_body(2000, number=number), key="blocked")

    assert error_of(by_id) == (403, "card_blocked", "payment")
    assert error_of(typed_in) == (403, "card_blocked", "payment")  # the key was freed
    assert await fundings_of(runtime, account.id) == []
    assert await wallet_figures(client, account) == (0, 0, 0)
    assert (await fund(client, account, fund_body(2000), key="blocked")).status_code == 201


async def test_another_customers_saved_card_is_not_found(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    owner, other = await accounts(), await accounts()
    saved = await client.post("/v1/cards", json=card()["card"], headers=owner.headers)
    assert saved.status_code == 201, saved.text

    response = await fund(
        client, other, {"amount": euros(2000), "payment": {"card_id": saved.json()["id"]}}
    )

    assert error_of(response) == (422, "card_not_found", "payment.card_id")
    assert await fundings_of(runtime, other.id) == []


async def test_one_customer_never_sees_another_customers_wallet(
    client: httpx.AsyncClient, accounts: NewAccount
) -> None:
    rich, other = await accounts(), await accounts()
    await funded(client, rich, 5000)

    assert await wallet_figures(client, other) == (0, 0, 0)
    listed = await client.get("/v1/wallet/transactions", headers=other.headers)
    assert listed.json() == {"data": [], "next_cursor": None}


async def test_a_key_used_more_than_72_hours_ago_is_a_new_request_and_refused(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """The key is forgotten after 72 hours; the funding it once named must not answer a
    new body sent under it, as if 30 € had been added when nothing was charged."""
    account = await accounts()
    first = await fund(client, account, fund_body(1000), key="old-key")
    assert first.status_code == 201, first.text
    clock.advance(73 * 3600)
    account = replace(account, headers=await fresh_headers(runtime, account.id))

    reused = await fund(client, account, fund_body(3000), key="old-key")

    assert error_of(reused)[:2] == (409, "idempotency_key_reused")
    assert await wallet_figures(client, account) == (1000, 0, 1000)


class TokenizerAway:
    """A gateway that cannot read a new card at all: its network is down."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def tokenize(self, card: Any) -> Any:
        raise GatewayUnavailable("no answer")


async def test_a_card_network_away_before_anything_started_is_a_503_and_frees_the_key(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    gateway = runtime.payment_gateway
    runtime.payment_gateway = TokenizerAway(gateway)
    try:
        away = await fund(client, account, fund_body(1000), key="network-away")
    finally:
        runtime.payment_gateway = gateway

    assert away.status_code == 503, away.text
    assert away.headers["Retry-After"] == "60"
    again = await fund(client, account, fund_body(1000), key="network-away")
    assert again.status_code == 201, again.text
