"""After buying: "My purchases" with its repeat buttons, and the saved cards."""

from __future__ import annotations

import re

import httpx

from tests.accounts.helpers import bearer
from tests.storefront.support import (
    DECLINED_CARD,
    RECIPIENT_SHOWN,
    csrf_of,
    element,
    form_on,
    location,
    order_id_from,
    pay,
    read,
    review_page,
    session_token,
    settled,
    submit,
)
from tests.subscriptions.conftest import PLAN, recipient
from topup.kit.ids import new_id
from topup.orders.repository import OrderRepository
from topup.runtime import Runtime

CARD_ID = re.compile(r'action="/cards/(card_[0-9a-f]{32})/remove"')


def purchase_ids(html: str) -> list[str]:
    return [
        tag.attrs["id"].removeprefix("order-")
        for tag in read(html).tags
        if tag.tag == "li" and "purchase" in tag.attrs.get("class", "").split()
    ]


async def test_purchases_list_each_order_with_its_status(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = logged_in_client
    empty = await client.get("/purchases")
    assert empty.status_code == 200
    assert "No purchases yet." in empty.text

    delivered = order_id_from(await pay(client, save_card="yes"))
    declined = order_id_from(await pay(client, card_number=DECLINED_CARD))
    assert await settled(client, runtime, delivered) == "succeeded"
    assert await settled(client, runtime, declined) == "declined"

    page = await client.get("/purchases")
    assert purchase_ids(page.text) == [declined, delivered]  # newest first
    first = element(page.text, f"order-{delivered}")
    assert "Delivered" in first.text
    assert RECIPIENT_SHOWN in first.text
    assert "MTN Nigeria" in first.text
    assert "€1.99" in first.text
    assert "Card declined" in element(page.text, f"order-{declined}").text
    # Only an order paid with a saved card can be sent again with one click.
    assert form_on(page.text, f"/orders/{delivered}/repeat").fields["idempotency_key"]
    assert f'action="/orders/{declined}/repeat"' not in page.text
    assert f'href="/orders/{delivered}"' in page.text


async def test_a_plan_is_listed_without_a_send_again_button(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = logged_in_client
    topup = order_id_from(await pay(client, save_card="yes"))
    assert await settled(client, runtime, topup) == "succeeded"
    api = bearer(session_token(client))
    [card] = (await client.get("/v1/cards", headers=api)).json()["data"]
    body = {"plan_id": PLAN, "recipient_phone": recipient(), "card_id": card["id"]}
    subscribed = await client.post(
        "/v1/subscriptions", json=body, headers=api | {"Idempotency-Key": new_id("key")}
    )
    assert subscribed.status_code == 201, subscribed.text
    await runtime.detached.settle()
    plan = subscribed.json()["charges"][0]["order_id"]
    async with runtime.session_factory() as session:
        charged = await OrderRepository(session).order(plan)
    assert charged is not None
    assert (charged.product_type, charged.card_id) == ("plan", card["id"])  # paid by a saved card

    page = await client.get("/purchases")

    assert purchase_ids(page.text) == [plan, topup]
    # A plan is renewed by its subscription on the 1st: bought again, it would be a second
    # plan that the API refuses (product_requires_subscription).
    assert "again" not in element(page.text, f"order-{plan}").text
    assert f'action="/orders/{plan}/repeat"' not in page.text
    assert form_on(page.text, f"/orders/{topup}/repeat").fields["idempotency_key"]


async def test_repeating_a_purchase_pays_with_the_same_card(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = logged_in_client
    first = order_id_from(await pay(client, save_card="yes", message="Happy birthday"))
    assert await settled(client, runtime, first) == "succeeded"
    purchases = await client.get("/purchases")
    # No risk rules in this database, so no duplicate warning: the repeat goes straight on.
    again = order_id_from(await submit(client, purchases.text, f"/orders/{first}/repeat"))
    assert again != first
    assert await settled(client, runtime, again) == "succeeded"
    order = await client.get(f"/orders/{again}")
    assert RECIPIENT_SHOWN in order.text
    assert "₦2,500.00" in order.text
    assert "•••• 4242" in order.text
    assert "Happy birthday" not in order.text  # the message is not repeated
    assert purchase_ids((await client.get("/purchases")).text) == [again, first]


async def test_the_same_repeat_form_sent_twice_makes_one_order(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = logged_in_client
    first = order_id_from(await pay(client, save_card="yes"))
    purchases = await client.get("/purchases")
    one = order_id_from(await submit(client, purchases.text, f"/orders/{first}/repeat"))
    two = order_id_from(await submit(client, purchases.text, f"/orders/{first}/repeat"))
    assert one == two
    assert len(purchase_ids((await client.get("/purchases")).text)) == 2


async def test_repeating_with_a_removed_card_says_so(
    logged_in_client: httpx.AsyncClient,
) -> None:
    client = logged_in_client
    first = order_id_from(await pay(client, save_card="yes"))
    purchases = await client.get("/purchases")
    cards = await client.get("/cards")
    card_id = CARD_ID.search(cards.text)
    assert card_id is not None
    assert location(await submit(client, cards.text, f"/cards/{card_id.group(1)}/remove"))

    refused = await submit(client, purchases.text, f"/orders/{first}/repeat")
    assert refused.status_code == 422, refused.text
    assert "This card is no longer saved." in refused.text
    assert purchase_ids(refused.text) == [first]


async def test_a_saved_card_can_be_removed(logged_in_client: httpx.AsyncClient) -> None:
    client = logged_in_client
    none = await client.get("/cards")
    assert none.status_code == 200
    assert "No saved cards." in none.text

    order_id_from(await pay(client, save_card="yes"))
    cards = await client.get("/cards")
    found = CARD_ID.findall(cards.text)
    assert len(found) == 1
    assert "Visa •••• 4242" in cards.text
    review = await review_page(client)
    assert form_on(review.text, "/topup/pay").fields["card_id"] == found[0]  # offered first

    removed = await submit(client, cards.text, f"/cards/{found[0]}/remove")
    assert location(removed) == "/cards"
    after = await client.get("/cards")
    assert "No saved cards." in after.text
    assert found[0] not in after.text
    assert found[0] not in (await review_page(client)).text

    again = await client.post(f"/cards/{found[0]}/remove", data={"csrf_token": csrf_of(after.text)})
    assert again.status_code == 404
    assert again.headers["content-type"].startswith("text/html")


async def test_a_bad_cursor_is_explained_not_a_crash(logged_in_client: httpx.AsyncClient) -> None:
    page = await logged_in_client.get("/purchases", params={"cursor": "not-a-cursor"})
    assert page.status_code == 200
    assert 'class="error-summary"' in page.text


async def test_an_anonymous_repeat_is_sent_to_log_in(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    token = csrf_of(home.text)
    order_path = "/orders/ord_" + "0" * 32
    repeat = await client.post(f"{order_path}/repeat", data={"csrf_token": token})
    assert location(repeat).startswith("/login?next=")
    remove = await client.post("/cards/card_x/remove", data={"csrf_token": token})
    assert location(remove).startswith("/login?next=")
