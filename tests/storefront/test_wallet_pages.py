"""The wallet in the pages: paying from it on the review page, its balance on My account,
and deleting an account that still holds money."""

from __future__ import annotations

import httpx

from tests.accounts.helpers import PASSWORD, bearer
from tests.storefront.support import (
    GOOD_CARD,
    NEXT_YEAR,
    assert_field_error,
    element,
    has_element,
    location,
    order_id_from,
    pay,
    review_page,
    session_token,
    settled,
    submit,
)
from topup.kit.ids import new_id
from topup.runtime import Runtime


async def fund(client: httpx.AsyncClient, cents: int) -> None:
    """Add money through the API with the page's own session, as the same person."""
    response = await client.post(
        "/v1/wallet/fund",
        json={
            "amount": {"amount": cents, "currency": "EUR"},
            "payment": {
                "card": {
                    "number": GOOD_CARD,
                    "exp_month": 12,
                    "exp_year": int(NEXT_YEAR),
                    "cvc": "123",
                }
            },
        },
        headers=bearer(session_token(client)) | {"Idempotency-Key": new_id("key")},
    )
    assert response.status_code == 201, response.text


async def wallet_of(client: httpx.AsyncClient) -> dict[str, dict[str, int]]:
    response = await client.get("/v1/wallet", headers=bearer(session_token(client)))
    assert response.status_code == 200, response.text
    wallet: dict[str, dict[str, int]] = response.json()
    return wallet


async def test_an_empty_wallet_is_not_offered(logged_in_client: httpx.AsyncClient) -> None:
    review = await review_page(logged_in_client)

    assert not has_element(review.text, "card-wallet")


async def test_a_wallet_that_covers_the_price_is_chosen_and_pays(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = logged_in_client
    await fund(client, 2000)
    review = await review_page(client)
    assert "checked" in element(review.text, "card-wallet").attrs  # 20 € covers 1.99 €

    paid = await pay(client, card_id="wallet", card_number=None, cvc=None)

    order_id = order_id_from(paid)
    assert await settled(client, runtime, order_id) == "succeeded"
    order = await client.get(f"/v1/orders/{order_id}", headers=bearer(session_token(client)))
    assert order.json()["payment"]["method"] == "wallet"
    spent = order.json()["price"]["amount"]
    assert (await wallet_of(client))["balance"]["amount"] == 2000 - spent


async def test_a_wallet_too_small_is_refused_next_to_the_payment_choice(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = logged_in_client
    await fund(client, 500)
    review = await review_page(client, product_id="ng-mtn-10000")
    assert "checked" not in element(review.text, "card-wallet").attrs  # 5 € < 7.94 €

    refused = await submit(
        client, review.text, "/topup/pay", confirm_number="yes", card_id="wallet"
    )

    assert refused.status_code == 402
    assert "does not hold enough" in element(refused.text, "card-error").text
    assert (await wallet_of(client))["pending"]["amount"] == 0


async def test_my_account_shows_the_balance_and_deleting_asks_to_give_it_up(
    logged_in_client: httpx.AsyncClient,
) -> None:
    client = logged_in_client
    await fund(client, 1250)
    account = await client.get("/account")
    assert "12.50" in element(account.text, "wallet-balance").text

    kept = await submit(
        client, account.text, "/account/delete", delete_password=PASSWORD, confirm_delete="yes"
    )
    assert kept.status_code == 422
    assert_field_error(kept.text, "give_up_balance", "still holds money")
    assert (await wallet_of(client))["balance"]["amount"] == 1250

    deleted = await submit(
        client,
        kept.text,
        "/account/delete",
        delete_password=PASSWORD,
        confirm_delete="yes",
        give_up_balance="yes",
    )
    assert location(deleted) == "/?deleted=1"
