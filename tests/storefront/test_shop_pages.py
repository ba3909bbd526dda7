"""Buying through the pages, as a browser without JavaScript does: the number, the product,
the review with the payment form, and the order's page."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx

from tests.accounts.helpers import Person, new_person, sms_code
from tests.fixtures.risky import Risky
from tests.orders.support import new_order
from tests.storefront.support import (
    BAD_CARD,
    DECLINED_CARD,
    GOOD_CARD,
    RECIPIENT,
    RECIPIENT_LOCAL,
    RECIPIENT_SHOWN,
    assert_field_error,
    card_fields,
    csrf_of,
    customer_of,
    element,
    form_on,
    has_element,
    location,
    log_in,
    order_id_from,
    orders_of,
    pay,
    query_of,
    read,
    review_page,
    settled,
    sign_up,
    sign_up_and_verify,
    status_on,
    submit,
)
from topup.orders.lifecycle import drive
from topup.runtime import Runtime

CONFIRM_NUMBER = "Tick the box to confirm that the number is right."
DUPLICATE = "You sent a top-up to this number a moment ago."
# The supplier simulator leaves a 0002 number pending, and confirms it at the first check.
CONFIRMED_LATER = "+2348031230002"


async def test_a_whole_purchase_works_without_javascript(risky: Risky) -> None:
    """Sign-up to a repeated top-up, only through forms and links. On the database with the
    shipped risk rules: the duplicate warning comes from them."""
    client, runtime = risky.http, risky.runtime
    await sign_up_and_verify(client)  # confirming the code logs this browser in
    me = await customer_of(client)
    assert me["phone_verified"] is True

    home = await client.get("/")
    products = await submit(client, home.text, "/topup", country="NG", phone=RECIPIENT_LOCAL)
    assert products.status_code == 200, products.text
    tags = read(products.text).tags
    offered = [tag.attrs["value"] for tag in tags if tag.attrs.get("name") == "product_id"]
    assert "ng-mtn-2500" in offered
    assert all(value.startswith("ng-mtn-") for value in offered), offered
    assert "MTN Nigeria" in products.text
    assert element(products.text, "product-ng-mtn-2500").attrs.get("checked") is not None

    review = await submit(client, products.text, "/topup/review")
    assert review.status_code == 200, review.text
    big = element(review.text, "recipient-number")
    assert big.text == RECIPIENT_SHOWN
    assert "big-number" in big.attrs["class"].split()
    assert "checked" not in element(review.text, "confirm_number").attrs

    unconfirmed = await submit(client, review.text, "/topup/pay", **card_fields(save=True))
    assert unconfirmed.status_code == 422, unconfirmed.text
    assert_field_error(unconfirmed.text, "confirm_number", CONFIRM_NUMBER)
    assert element(unconfirmed.text, "recipient-number").text == RECIPIENT_SHOWN
    assert await orders_of(runtime, str(me["id"])) == []

    paid = await submit(
        client,
        unconfirmed.text,
        "/topup/pay",
        confirm_number="yes",
        card_number=GOOD_CARD,
        cvc="123",
    )
    first = order_id_from(paid)
    assert await settled(client, runtime, first) == "succeeded"
    order_page = await client.get(f"/orders/{first}")
    assert "Done: the credit has arrived" in order_page.text
    assert "They can check their balance by dialling *310#." in order_page.text
    assert "•••• 4242" in order_page.text

    purchases = await client.get("/purchases")
    listed = element(purchases.text, f"order-{first}")
    assert RECIPIENT_SHOWN in listed.text
    assert "Delivered" in listed.text

    # Again, minutes later: the service asks whether a second top-up is meant.
    warned = await submit(client, purchases.text, f"/orders/{first}/repeat")
    assert warned.status_code == 409, warned.text
    assert DUPLICATE in element(warned.text, f"confirm-{first}-error").text
    box = element(warned.text, f"confirm-{first}")
    assert box.attrs["type"] == "checkbox"
    assert "checked" not in box.attrs
    assert await orders_of(runtime, str(me["id"])) == [first]

    again = await submit(client, warned.text, f"/orders/{first}/repeat", confirm_duplicate="yes")
    second = order_id_from(again)
    assert second != first
    assert await settled(client, runtime, second) == "succeeded"
    assert await orders_of(runtime, str(me["id"])) == [first, second]
    listed_again = await client.get("/purchases")
    assert has_element(listed_again.text, f"order-{second}")


async def test_paying_again_for_the_same_number_asks_to_tick_a_box(risky: Risky) -> None:
    client, runtime = risky.http, risky.runtime
    await sign_up_and_verify(client)
    me = await customer_of(client)
    first = order_id_from(await pay(client))
    assert await settled(client, runtime, first) == "succeeded"

    warned = await pay(client)
    assert warned.status_code == 409, warned.text
    assert DUPLICATE in warned.text
    box = element(warned.text, "confirm_duplicate")
    assert box.attrs["type"] == "checkbox"
    assert "checked" not in box.attrs
    assert element(warned.text, "card_number").attrs["value"] == ""
    assert element(warned.text, "cvc").attrs["value"] == ""
    assert await orders_of(runtime, str(me["id"])) == [first]

    second = order_id_from(
        await submit(
            client,
            warned.text,
            "/topup/pay",
            **card_fields(),
            confirm_number="yes",
            confirm_duplicate="yes",
        )
    )
    assert second != first
    assert await orders_of(runtime, str(me["id"])) == [first, second]


async def test_a_declined_card_ends_on_the_order_page_with_the_reason(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    order_id = order_id_from(await pay(logged_in_client, card_number=DECLINED_CARD))
    assert await settled(logged_in_client, runtime, order_id) == "declined"
    page = await logged_in_client.get(f"/orders/{order_id}")
    assert page.status_code == 200
    assert status_on(page.text) == "declined"
    status = element(page.text, "order-status").text
    assert "Your card was declined" in status
    assert "Your bank declined the card." in status
    assert "Nothing was taken from your card." in status
    purchases = await logged_in_client.get("/purchases")
    assert "Card declined" in element(purchases.text, f"order-{order_id}").text


async def test_a_wrong_card_number_is_shown_at_its_field_and_never_echoed(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    me = await customer_of(logged_in_client)
    refused = await pay(logged_in_client, card_number=BAD_CARD, cvc="737", message="Hi Mum")
    assert refused.status_code == 422, refused.text
    assert_field_error(refused.text, "card_number", "The card number is not valid.")
    html = refused.text
    assert "4242424242424241" not in html.replace(" ", "")
    assert element(html, "card_number").attrs["value"] == ""
    assert element(html, "cvc").attrs["value"] == ""
    assert 'value="737"' not in html
    # What is safe to keep is kept, so only the card needs typing again.
    assert element(html, "message").attrs["value"] == "Hi Mum"
    assert element(html, "exp_month").attrs["value"] == "12"
    assert "checked" in element(html, "confirm_number").attrs
    assert element(html, "recipient-number").text == RECIPIENT_SHOWN
    assert await orders_of(runtime, str(me["id"])) == []


async def test_an_expired_card_is_shown_at_the_expiry(logged_in_client: httpx.AsyncClient) -> None:
    refused = await pay(logged_in_client, exp_year="2001")
    assert refused.status_code == 422, refused.text
    errors = [name for name in read(refused.text).elements if name.endswith("-error")]
    assert errors in (["exp_year-error"], ["exp_month-error"]), errors


async def test_the_same_payment_form_sent_twice_makes_one_order(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = logged_in_client
    me = await customer_of(client)
    review = await review_page(client)
    fields = card_fields() | {"confirm_number": "yes"}
    first = await submit(client, review.text, "/topup/pay", **fields)
    second = await submit(client, review.text, "/topup/pay", **fields)  # a double click
    order_id = order_id_from(first)
    assert order_id_from(second) == order_id
    assert await orders_of(runtime, str(me["id"])) == [order_id]
    # A new showing of the form is a new purchase.
    other = order_id_from(await pay(client))
    assert other != order_id
    assert await orders_of(runtime, str(me["id"])) == [order_id, other]


async def test_each_showing_of_the_review_has_its_own_key(
    logged_in_client: httpx.AsyncClient,
) -> None:
    keys = [
        form_on((await review_page(logged_in_client)).text, "/topup/pay").fields["idempotency_key"]
        for _ in range(2)
    ]
    assert all(len(key) >= 20 for key in keys)
    assert keys[0] != keys[1]


async def test_a_wrong_number_is_shown_at_the_phone_field(client: httpx.AsyncClient) -> None:
    refused = await client.get("/topup", params={"country": "NG", "phone": "0803123"})
    assert refused.status_code == 422, refused.text
    assert_field_error(refused.text, "phone", "This is not a valid mobile number.")
    assert element(refused.text, "phone").attrs["value"] == "0803123"
    assert 'value="NG" selected' in refused.text  # the country stays chosen

    elsewhere = await client.get("/topup", params={"country": "FR", "phone": RECIPIENT})
    assert elsewhere.status_code == 422, elsewhere.text
    assert_field_error(elsewhere.text, "phone", "another country")

    postpaid = await client.get("/topup", params={"phone": "+2348031230009"})
    assert postpaid.status_code == 422, postpaid.text
    assert_field_error(postpaid.text, "phone", "postpaid")


async def test_the_live_number_check_is_a_fragment(client: httpx.AsyncClient) -> None:
    found = await client.get("/topup/check", params={"country": "NG", "phone": RECIPIENT_LOCAL})
    assert found.status_code == 200
    assert "<html" not in found.text
    assert "MTN Nigeria" in found.text
    assert RECIPIENT_SHOWN in found.text

    wrong = await client.get("/topup/check", params={"country": "NG", "phone": "0803123"})
    assert wrong.status_code == 200
    assert 'class="field-error"' in wrong.text
    assert "This is not a valid mobile number." in wrong.text

    started = await client.get("/topup/check", params={"phone": "08"})
    assert started.text.strip() == ""


async def test_a_typed_amount_for_the_open_product(logged_in_client: httpx.AsyncClient) -> None:
    client = logged_in_client
    products = await client.get("/topup", params={"country": "NG", "phone": RECIPIENT_LOCAL})
    review = await submit(
        client, products.text, "/topup/review", product_id="ng-mtn-range", amount="5000"
    )
    assert review.status_code == 200, review.text
    assert "₦5,000.00" in review.text
    assert 'name="amount" value="5000' in review.text

    for typed in ("lots", "10", "999999999"):
        refused = await submit(
            client, products.text, "/topup/review", product_id="ng-mtn-range", amount=typed
        )
        assert refused.status_code == 422, (typed, refused.text)
        assert_field_error(refused.text, "amount")
        assert element(refused.text, "amount").attrs["value"] == typed
        assert "checked" in element(refused.text, "product-ng-mtn-range").attrs


async def test_an_order_still_on_its_way_reloads_itself(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = logged_in_client
    waiting = order_id_from(await pay(client, phone=CONFIRMED_LATER))
    page = await client.get(f"/orders/{waiting}")
    assert status_on(page.text) == "pending"
    assert "Waiting for the operator" in page.text
    # Without JavaScript the page refreshes itself; with it, htmx fetches the status box.
    assert re.search(r'<noscript><meta http-equiv="refresh" content="\d+"></noscript>', page.text)
    box = element(page.text, "order-status")
    assert box.attrs["hx-get"] == f"/orders/{waiting}/status"
    assert "every" in box.attrs["hx-trigger"]
    fragment = await client.get(f"/orders/{waiting}/status")
    assert "<html" not in fragment.text
    assert element(fragment.text, "order-status").attrs["hx-get"] == f"/orders/{waiting}/status"

    # The worker's status check finds it delivered: the page stops reloading.
    assert await settled(client, runtime, waiting) == "succeeded"
    final = await client.get(f"/orders/{waiting}")
    assert "Done: the credit has arrived" in final.text
    assert "http-equiv" not in final.text
    assert "hx-get" not in element(final.text, "order-status").attrs


async def test_someone_elses_order_is_not_found(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    theirs = await new_order(runtime, RECIPIENT)
    try:
        for path in (f"/orders/{theirs}", f"/orders/{theirs}/status"):
            answer = await logged_in_client.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("text/html")
            assert "This page does not exist" in answer.text
            assert theirs not in answer.text.replace(f"/orders/{theirs}", "")
    finally:  # leave no order for other tests' worker rounds to move on
        await drive(runtime.order_deps(), theirs)


async def test_buying_sends_an_anonymous_visitor_to_log_in_and_back(
    client: httpx.AsyncClient,
) -> None:
    person = new_person()
    await sign_up_and_verify(client, person)
    await submit(client, (await client.get("/")).text, "/logout")
    review_path = f"/topup/review?phone={quote(RECIPIENT)}&product_id=ng-mtn-2500"

    detour = location(await client.get(review_path))
    assert detour.startswith("/login?next=")
    assert query_of(detour)["next"] == review_path

    back = location(await log_in(client, person.email, next_path=query_of(detour)["next"]))
    assert back == review_path
    review = await client.get(back)
    assert review.status_code == 200
    assert element(review.text, "recipient-number").text == RECIPIENT_SHOWN


async def test_an_unconfirmed_phone_is_sent_to_confirm_it_first(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    person = new_person()
    await sign_up(client, person)  # the code is never typed
    assert location(await log_in(client, person.email)) == "/"
    me = await customer_of(client)
    assert me["phone_verified"] is False
    review_path = f"/topup/review?phone={quote(RECIPIENT)}&product_id=ng-mtn-2500"

    detour = location(await client.get(review_path))
    assert detour.startswith("/verify?")
    assert query_of(detour)["next"] == review_path
    # A payment form posted anyway (an old tab) places nothing.
    home = await client.get("/")
    posted = await client.post(
        "/topup/pay",
        data={
            "csrf_token": csrf_of(home.text),
            "phone": RECIPIENT,
            "product_id": "ng-mtn-2500",
            "idempotency_key": "an-old-tab",
            "confirm_number": "yes",
            **{name: value for name, value in card_fields().items() if value is not None},
        },
    )
    assert location(posted).startswith("/verify?")
    assert await orders_of(runtime, str(me["id"])) == []

    verify_page = await client.get(detour)
    assert element(verify_page.text, "phone").attrs["value"] == person.phone  # known already
    confirmed = await submit(
        client, verify_page.text, "/verify", code=await sms_code(client, person.phone)
    )
    assert location(confirmed) == review_path
    review = await client.get(review_path)
    assert review.status_code == 200
    assert element(review.text, "recipient-number").text == RECIPIENT_SHOWN


async def test_a_payment_sent_after_the_session_ended_comes_back_to_a_page_after_login(
    logged_in_client: httpx.AsyncClient, shopper: Person
) -> None:
    """BUG: the login (or code) detour of POST /topup/pay names /topup/pay itself as the
    page to come back to; after logging in the browser GETs it and gets a 405 page."""
    client = logged_in_client
    review = await review_page(client)
    await submit(client, review.text, "/logout")  # in another tab, or the session expired
    sent = await submit(client, review.text, "/topup/pay", **card_fields(), confirm_number="yes")
    detour = location(sent)
    assert detour.startswith("/login?next=")

    back = location(await log_in(client, shopper.email, next_path=query_of(detour)["next"]))
    landing = await client.get(back)
    assert landing.status_code == 200, (back, landing.status_code)


async def test_a_card_that_is_not_theirs_is_refused_at_the_card_choice(
    logged_in_client: httpx.AsyncClient,
) -> None:
    refused = await pay(logged_in_client, card_id="card_" + "0" * 32)
    assert refused.status_code == 422, refused.text
    assert "This card is no longer saved." in element(refused.text, "card-error").text


async def test_a_message_with_a_link_is_refused_at_its_field(
    logged_in_client: httpx.AsyncClient,
) -> None:
    refused = await pay(logged_in_client, message="see http://x.example")
    assert refused.status_code == 422, refused.text
    assert_field_error(refused.text, "message", "at most 30 characters")


async def test_what_a_visitor_types_is_escaped(client: httpx.AsyncClient) -> None:
    typed = '"><script>alert(1)</script>'
    refused = await client.get("/topup", params={"country": "NG", "phone": typed})
    assert refused.status_code == 422
    assert "<script>alert(1)" not in refused.text
    assert element(refused.text, "phone").attrs["value"] == typed  # shown back, as text


async def test_a_voucher_shows_its_pin_on_its_order_page(
    logged_in_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = logged_in_client
    order_id = order_id_from(await pay(client, product_id="ng-mtn-voucher-20000"))

    assert await settled(client, runtime, order_id) == "succeeded"
    page = await client.get(f"/orders/{order_id}")

    issued = (await runtime.supplier.status(order_id)).pin  # the supplier repeats its PIN
    assert issued is not None
    box = element(page.text, "order-status")
    assert issued.code in str(box)
    assert issued.serial in str(box)
    assert page.headers["cache-control"] == "no-store"
