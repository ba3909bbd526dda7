"""The refund arithmetic of each preset, as a pure function: fees, the 50 % rule, the
remaining balance, the window and the answer date, and the rule behind each refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from topup.refunds.policy import Approval, Destination, RefundPolicy, business_calendar, presets
from topup.refunds.quote import (
    Purchase,
    Quote,
    RefundAsk,
    RefundRefused,
    RemainingBalance,
    fee_of,
    quote,
)

FR = business_calendar("FR")
WALLET = Destination.wallet
CARD = Destination.original_method
# Monday 6 July 2026, 10:00 UTC: a plain week until Bastille Day on Tuesday 14.
BOUGHT = datetime(2026, 7, 6, 10, tzinfo=UTC)


def policy(product_type: str) -> RefundPolicy:
    return presets()[product_type]


def quoted(
    product_type: str,
    *,
    paid: int = 1000,
    claimed: int = 0,
    remaining: RemainingBalance | None = None,
    reason: str | None = None,
    destination: Destination = WALLET,
    amount: int | None = None,
    now: datetime | None = None,
    bought: datetime = BOUGHT,
) -> Quote:
    default_reason = "not_delivered" if product_type == "topup" else "service_not_working"
    return quote(
        policy(product_type),
        Purchase(paid=paid, already_claimed=claimed, purchased_at=bought, remaining=remaining),
        RefundAsk(reason or default_reason, destination, amount),
        now=now or bought + timedelta(hours=1),
        calendar=FR,
    )


def refused(product_type: str, **kwargs: object) -> RefundRefused:
    with pytest.raises(RefundRefused) as caught:
        quoted(product_type, **kwargs)  # type: ignore[arg-type]
    return caught.value


# ---- top-ups --------------------------------------------------------------------------------


def test_a_delivered_top_up_is_not_refunded_on_a_change_of_mind() -> None:
    refusal = refused("topup", reason="changed_mind")
    assert (refusal.rule, refusal.field) == ("reason_not_eligible", "reason")
    assert refusal.reason_text == policy("topup").final_note


def test_a_top_up_never_delivered_is_refunded_in_full_without_a_fee() -> None:
    found = quoted("topup", paid=2837)
    assert (found.amount, found.fee, found.net) == (2837, 0, 2837)
    assert (found.destination, found.approval) == (WALLET, Approval.manual)


def test_a_top_up_may_go_back_to_the_card() -> None:
    assert quoted("topup", destination=CARD).destination is CARD


def test_a_failed_service_is_approved_automatically() -> None:
    assert quoted("topup", reason="service_failed").approval is Approval.automatic


def test_support_answers_within_two_business_days_skipping_a_weekend_and_a_holiday() -> None:
    # Asked on Friday 10 July 2026 at 16:00: Mon 13 counts, Tue 14 is Bastille Day.
    asked_at = datetime(2026, 7, 10, 16, tzinfo=UTC)
    found = quoted("topup", now=asked_at)
    assert found.answer_by == datetime(2026, 7, 15, 16, tzinfo=UTC)


def test_a_top_up_bought_on_31_january_may_be_refunded_until_the_end_of_february() -> None:
    bought = datetime(2026, 1, 31, 9, tzinfo=UTC)
    last_moment = datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert quoted("topup", bought=bought, now=last_moment).amount == 1000
    refusal = refused("topup", bought=bought, now=last_moment + timedelta(seconds=1))
    assert (refusal.rule, refusal.field) == ("outside_window", "order_id")
    assert "2026-02-28" in refusal.reason_text


def test_part_of_a_top_up_may_be_asked_for_and_then_the_rest() -> None:
    first = quoted("topup", amount=400)
    assert (first.amount, first.net) == (400, 400)
    rest = quoted("topup", claimed=400)
    assert rest.amount == 600
    refusal = refused("topup", claimed=400, amount=601)
    assert (refusal.rule, refusal.field) == ("amount_above_refundable", "amount.amount")
    assert "6.00 EUR" in refusal.reason_text


def test_the_same_money_is_not_refunded_twice() -> None:
    refusal = refused("topup", claimed=1000)
    assert (refusal.rule, refusal.field) == ("already_refunded", "order_id")


def test_nothing_is_refunded_when_nothing_was_captured() -> None:
    refusal = refused("topup", paid=0)
    assert (refusal.rule, refusal.field) == ("nothing_captured", "order_id")


def test_a_destination_the_policy_does_not_name_is_refused() -> None:
    wallet_only = policy("topup").model_copy(update={"destinations": [WALLET]})
    with pytest.raises(RefundRefused) as caught:
        quote(
            wallet_only,
            Purchase(paid=1000, already_claimed=0, purchased_at=BOUGHT),
            RefundAsk("not_delivered", CARD, None),
            now=BOUGHT,
            calendar=FR,
        )
    assert (caught.value.rule, caught.value.field) == ("destination_not_allowed", "destination")
    assert "wallet" in caught.value.reason_text


# ---- calling cards and plans ------------------------------------------------------------------

CARD_TYPES = pytest.mark.parametrize("product_type", ["calling_card", "plan"])


@CARD_TYPES
def test_twelve_percent_is_kept_from_the_remaining_balance(product_type: str) -> None:
    found = quoted(product_type, remaining=RemainingBalance(remaining=100, original=100))
    assert (found.amount, found.fee, found.net) == (1000, 120, 880)
    assert found.approval is Approval.manual


@CARD_TYPES
def test_only_the_unused_share_is_refunded(product_type: str) -> None:
    found = quoted(product_type, remaining=RemainingBalance(remaining=600, original=1000))
    assert (found.amount, found.fee, found.net) == (600, 72, 528)


@CARD_TYPES
def test_less_than_half_the_balance_left_refunds_nothing(product_type: str) -> None:
    refusal = refused(product_type, remaining=RemainingBalance(remaining=49, original=100))
    assert (refusal.rule, refusal.field) == ("below_minimum_remaining", "order_id")
    # A hair under half, which a rounded percentage would call 50 %.
    refusal = refused(product_type, remaining=RemainingBalance(remaining=4999, original=10000))
    assert refusal.rule == "below_minimum_remaining"


@CARD_TYPES
def test_exactly_half_the_balance_left_is_refunded(product_type: str) -> None:
    found = quoted(product_type, remaining=RemainingBalance(remaining=50, original=100))
    assert (found.amount, found.fee, found.net) == (500, 60, 440)


@CARD_TYPES
def test_the_unused_share_is_rounded_down_to_the_cent(product_type: str) -> None:
    # 999 cents with two thirds left: 666.0 cents; 1000 with 2/3: 666.67 → 666.
    third = RemainingBalance(remaining=2, original=3)
    assert quoted(product_type, paid=999, remaining=third).amount == 666
    assert quoted(product_type, paid=1000, remaining=third).amount == 666


@CARD_TYPES
def test_an_unknown_remaining_balance_refunds_nothing(product_type: str) -> None:
    assert refused(product_type).rule == "remaining_balance_unknown"
    refusal = refused(product_type, remaining=RemainingBalance(remaining=0, original=0))
    assert refusal.rule == "remaining_balance_unknown"


@CARD_TYPES
def test_the_remaining_balance_already_claimed_is_not_refunded_again(product_type: str) -> None:
    sixty_percent = RemainingBalance(remaining=600, original=1000)
    # 300 of the 600 left was asked for already: 300 more at most, however much was paid.
    assert quoted(product_type, claimed=300, remaining=sixty_percent).amount == 300
    refusal = refused(product_type, claimed=600, remaining=sixty_percent)
    assert refusal.rule == "already_refunded"


@CARD_TYPES
def test_a_change_of_mind_is_accepted_but_other_reasons_are_not(product_type: str) -> None:
    whole = RemainingBalance(remaining=1, original=1)
    assert quoted(product_type, reason="changed_mind", remaining=whole).amount == 1000
    refusal = refused(product_type, reason="not_delivered", remaining=whole)
    assert refusal.rule == "reason_not_eligible"
    assert refusal.reason_text == policy(product_type).final_note


@CARD_TYPES
def test_the_window_is_five_business_days_from_the_purchase(product_type: str) -> None:
    # Bought Thursday 9 July 2026 10:00: Fri 10, Mon 13, (Tue 14 off), Wed 15, Thu 16, Fri 17.
    bought = datetime(2026, 7, 9, 10, tzinfo=UTC)
    whole = RemainingBalance(remaining=1, original=1)
    last = datetime(2026, 7, 17, 10, tzinfo=UTC)
    assert quoted(product_type, bought=bought, now=last, remaining=whole).amount == 1000
    refusal = refused(product_type, bought=bought, now=last + timedelta(minutes=1), remaining=whole)
    assert refusal.rule == "outside_window"


@CARD_TYPES
def test_the_window_is_checked_before_the_balance(product_type: str) -> None:
    late = BOUGHT + timedelta(days=30)
    assert refused(product_type, now=late).rule == "outside_window"


# ---- the fee's rounding -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "percent", "fee"),
    [
        (1000, "12", 120),
        (1004, "12", 120),  # 120.48
        (1005, "12", 121),  # 120.6
        (125, "10", 13),  # 12.5: half up, where half-even would give 12
        (4, "12.5", 1),  # 0.5
        (3, "12.5", 0),  # 0.375
        (999, "0", 0),
        (1, "99.99", 1),
    ],
)
def test_the_fee_is_rounded_half_up_to_the_cent(amount: int, percent: str, fee: int) -> None:
    assert fee_of(amount, Decimal(percent)) == fee


def test_an_odd_amount_of_a_calling_card_keeps_the_rounded_fee() -> None:
    found = quoted("calling_card", paid=1005, remaining=RemainingBalance(1, 1))
    assert (found.amount, found.fee, found.net) == (1005, 121, 884)
