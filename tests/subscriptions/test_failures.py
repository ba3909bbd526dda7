"""Charges that fail: a first charge that fails ends the subscription; failed renewals
are retried after 1, 2 and 4 days, then the plan is suspended with an email; a new card
resumes it at once. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tests.subscriptions.conftest import (
    CARD,
    Subscriber,
    at,
    charges,
    emails,
    move_to,
    recipient,
    work,
)
from topup.notifications.rendering import render_email
from topup.runtime import Runtime

MakeSubscriber = Callable[..., Awaitable[Subscriber]]
DECLINED = CARD | {"number": "4000000000000002"}


async def test_a_first_charge_the_supplier_refuses_ends_the_subscription(
    subscriber: MakeSubscriber,
) -> None:
    person = await subscriber()
    phone = recipient()[:-4] + "0001"  # the simulator's operator rejects it

    created = (await person.subscribe(phone)).json()

    ended = await person.get(created["id"])
    assert ended["status"] == "incomplete_expired"
    assert ended["ended_reason"] is not None
    assert ended["next_charge_at"] is None
    assert [charge["status"] for charge in ended["charges"]] == ["failed"]
    # It never started, so it does not hold the number: subscribing again is allowed.
    assert (await person.subscribe(phone)).status_code == 201


async def test_failed_renewals_are_retried_then_suspend_the_plan_with_an_email(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2028, 1, 10))
    person = await subscriber()
    subscription_id = (await person.subscribe(recipient())).json()["id"]
    removed = await person.http.delete(
        f"/v1/cards/{person.card_id}", headers=await person.headers()
    )
    assert removed.status_code == 204

    move_to(at(2028, 2, 1))
    await work(runtime)
    past_due = await person.get(subscription_id)
    assert (past_due["status"], past_due["failure_code"]) == ("past_due", "card_not_found")
    assert moment_of(past_due["next_charge_at"]) >= at(2028, 2, 2)
    for day in (2, 4, 8):  # after 1, 2 and 4 more days
        move_to(at(2028, 2, day, 1))
        await work(runtime)

    suspended = await person.get(subscription_id)
    assert suspended["status"] == "suspended"
    assert suspended["service_ends_at"] is not None
    assert suspended["next_charge_at"] is None
    made = await charges(runtime, subscription_id)
    assert [(charge.cycle, charge.attempt, charge.status) for charge in made[1:]] == [
        ("2028-02", 0, "failed"),
        ("2028-02", 1, "failed"),
        ("2028-02", 2, "failed"),
        ("2028-02", 3, "failed"),
    ]
    assert [charge.order_id for charge in made[1:]] == [None] * 4  # refused before an order
    assert len(await emails(runtime, person.id, "subscription_suspended")) == 1
    move_to(at(2028, 3, 2))
    await work(runtime)
    assert len(await charges(runtime, subscription_id)) == 5  # nothing while suspended
    # Its last bundle (January's) had run out by the suspension: nothing to end at the
    # supplier, so the stop is confirmed as it is.
    stopped = await person.get(subscription_id)
    assert stopped["service_ended_confirmed_at"] == stopped["service_ends_at"]

    # A new card: the plan is charged again at once, for the cycle now running.
    saved = await person.http.post(
        "/v1/cards", json=CARD | {"number": "5555555555554444"}, headers=await person.headers()
    )
    resumed = await person.http.patch(
        f"/v1/subscriptions/{subscription_id}",
        json={"card_id": saved.json()["id"]},
        headers=await person.headers(),
    )
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "past_due"
    await work(runtime)
    active = await person.get(subscription_id)
    assert (active["status"], active["current_cycle"], active["card_last4"]) == (
        "active",
        "2028-03",
        "4444",
    )
    assert active["service_ends_at"] is None
    assert active["service_ended_confirmed_at"] is None
    assert moment_of(active["next_charge_at"]) == at(2028, 4, 1)
    assert len(await emails(runtime, person.id, "subscription_suspended")) == 1


async def test_a_declined_renewal_is_retried_and_a_new_card_pays_it_at_once(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2028, 4, 10))
    person = await subscriber()
    subscription_id = (await person.subscribe(recipient())).json()["id"]
    declining = await person.http.post("/v1/cards", json=DECLINED, headers=await person.headers())
    assert declining.status_code == 201, declining.text
    changed = await person.http.patch(
        f"/v1/subscriptions/{subscription_id}",
        json={"card_id": declining.json()["id"]},
        headers=await person.headers(),
    )
    assert changed.json()["status"] == "active"  # an active plan just changes its card

    move_to(at(2028, 5, 1))
    await work(runtime)
    past_due = await person.get(subscription_id)
    assert past_due["status"] == "past_due"
    [_, declined] = await charges(runtime, subscription_id)
    assert (declined.status, declined.order_id is not None) == ("failed", True)

    await person.http.patch(
        f"/v1/subscriptions/{subscription_id}",
        json={"card_id": person.card_id},
        headers=await person.headers(),
    )
    await work(runtime)
    paid = await person.get(subscription_id)
    assert (paid["status"], paid["current_cycle"]) == ("active", "2028-05")
    made = await charges(runtime, subscription_id)
    assert [(charge.attempt, charge.status) for charge in made[1:]] == [
        (0, "failed"),
        (1, "succeeded"),
    ]


def test_the_plan_emails_render_in_every_language() -> None:
    context = {
        "first_name": "Ada",
        "reference": "sub_1",
        "operator": "MTN Nigeria",
        "recipient": "+234 803 123 4567",
        "price": "€19.85",
        "card": "•••• 4242",
        "stopped_at": "1 February 2028",
        "cycle": "2028-02",
    }
    for kind in ("subscription_suspended", "subscription_cancelled"):
        english = render_email("en", kind, **context, charge_owed=True)
        for language in ("es", "fr", "it"):
            translated = render_email(language, kind, **context, charge_owed=True)
            assert translated.subject != english.subject
            assert "{{" not in translated.text + translated.html
            assert "+234 803 123 4567" in translated.text


def moment_of(text: str) -> datetime:
    return datetime.fromisoformat(text)
