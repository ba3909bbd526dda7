"""The shipped presets, the policy document's validation, and the business-day calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from topup.config import Settings
from topup.refunds.policy import (
    Approval,
    BusinessCalendar,
    Destination,
    RefundPolicy,
    Window,
    WindowUnit,
    business_calendar,
    presets,
)

FR = business_calendar("FR")


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_every_shipped_product_type_has_a_valid_preset() -> None:
    assert set(presets()) == {"topup", "voucher", "calling_card", "plan"}
    for policy in presets().values():
        # A preset survives the round trip through the database's JSON unchanged.
        assert RefundPolicy.model_validate_json(policy.model_dump_json()) == policy


def test_the_topup_preset_refunds_what_was_paid_within_a_month_without_a_fee() -> None:
    topup = presets()["topup"]
    assert topup.window == Window(length=1, unit=WindowUnit.months)
    assert topup.fee_percent == 0
    assert topup.refund_of == "amount_paid"
    assert topup.reasons == {
        "not_delivered": Approval.manual,
        "service_failed": Approval.automatic,
    }
    assert "changed_mind" not in topup.reasons  # a delivered top-up is final
    assert set(topup.destinations) == {Destination.wallet, Destination.original_method}
    assert (topup.answer_within_business_days, topup.processing_business_days) == (2, 5)


def test_a_delivered_voucher_is_final_and_only_a_confirmed_failure_is_refunded() -> None:
    voucher = presets()["voucher"]
    assert voucher.reasons == {"service_failed": Approval.automatic}
    assert voucher.refund_of == "amount_paid"
    assert voucher.fee_percent == 0
    assert "PIN" in voucher.final_note


@pytest.mark.parametrize("product_type", ["calling_card", "plan"])
def test_calling_cards_and_plans_keep_twelve_percent_of_at_least_half_the_balance(
    product_type: str,
) -> None:
    policy = presets()[product_type]
    assert policy.window == Window(length=5, unit=WindowUnit.business_days)
    assert policy.fee_percent == Decimal(12)
    assert policy.min_remaining_percent == 50
    assert policy.refund_of == "remaining_balance"
    assert set(policy.reasons) == {"service_not_working", "changed_mind"}
    assert (policy.answer_within_business_days, policy.processing_business_days) == (2, 7)


def document(**changes: Any) -> dict[str, Any]:
    return presets()["calling_card"].model_dump(mode="json") | changes


@pytest.mark.parametrize(
    "changes",
    [
        {"fee_percent": "100"},
        {"fee_percent": "-1"},
        {"fee_percent": "12.345"},
        {"min_remaining_percent": 101},
        {"destinations": ["wallet", "bank_transfer"]},
        {"destinations": ["wallet", "wallet"]},
        {"destinations": []},
        {"reasons": {"changed_mind": "sometimes"}},
        {"reasons": {"Changed Mind": "manual"}},
        {"reasons": {f"reason_{index}": "manual" for index in range(21)}},
        {"refund_of": "whatever_is_left"},
        {"window": {"length": 5, "unit": "weeks"}},
        {"window": {"length": -1, "unit": "calendar_days"}},
        {"answer_within_business_days": 61},
        {"surprise": True},
        {"title": ""},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_a_policy_the_service_cannot_apply_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RefundPolicy.model_validate(document(**changes))


def test_a_policy_missing_a_field_is_refused() -> None:
    body = document()
    del body["final_note"]
    with pytest.raises(ValidationError):
        RefundPolicy.model_validate(body)


def test_two_business_days_after_a_thursday_skip_the_weekend_and_bastille_day() -> None:
    # Thursday 10 July 2025: Friday 11 counts, the weekend does not, Monday 14 is a holiday.
    assert FR.add_business_days(at(2025, 7, 10), 2) == at(2025, 7, 15)


def test_business_days_skip_armistice_day_and_christmas() -> None:
    assert FR.add_business_days(at(2026, 11, 10), 1) == at(2026, 11, 12)  # not Wed 11 Nov
    assert FR.add_business_days(at(2026, 12, 24), 2) == at(2026, 12, 29)  # Fri 25 is off


def test_seven_business_days_of_processing_skip_christmas_and_two_weekends() -> None:
    assert FR.add_business_days(at(2026, 12, 21), 7) == at(2026, 12, 31)


def test_a_request_on_a_saturday_counts_from_monday() -> None:
    saturday = at(2025, 7, 5, hour=15)
    assert FR.add_business_days(saturday, 1) == at(2025, 7, 7, hour=15)
    assert FR.add_business_days(saturday, 2) == at(2025, 7, 8, hour=15)


def test_zero_business_days_is_the_moment_itself() -> None:
    assert FR.add_business_days(at(2025, 7, 5), 0) == at(2025, 7, 5)


def test_the_country_and_subdivision_decide_which_days_are_holidays() -> None:
    bavaria = business_calendar("DE", "BY")
    # Monday 5 January 2026: Epiphany (Tuesday 6) is a holiday in Bavaria, not in France.
    assert FR.add_business_days(at(2026, 1, 5), 1) == at(2026, 1, 6)
    assert bavaria.add_business_days(at(2026, 1, 5), 1) == at(2026, 1, 7)
    # Thursday 7 May 2026: 8 May is a holiday in France, not in Germany.
    assert FR.add_business_days(at(2026, 5, 7), 1) == at(2026, 5, 11)
    assert bavaria.add_business_days(at(2026, 5, 7), 1) == at(2026, 5, 8)
    # Moselle keeps Good Friday (3 April 2026); the rest of France does not.
    moselle = BusinessCalendar("FR", "57")
    assert FR.add_business_days(at(2026, 4, 2), 1) == at(2026, 4, 3)
    assert moselle.add_business_days(at(2026, 4, 2), 1) == at(2026, 4, 7)  # Easter Monday


def test_a_month_long_window_ends_on_the_same_day_or_the_last_of_a_shorter_month() -> None:
    month = Window(length=1, unit=WindowUnit.months)
    assert FR.window_end(at(2026, 1, 31), month) == at(2026, 2, 28)
    assert FR.window_end(at(2028, 1, 31), month) == at(2028, 2, 29)
    assert FR.window_end(at(2026, 3, 15), month) == at(2026, 4, 15)


def test_windows_in_business_and_calendar_days() -> None:
    # Friday 10 July 2026 + 5 business days: Mon 13, (Tue 14 off), Wed 15, Thu 16, Fri 17, Mon 20.
    assert FR.window_end(at(2026, 7, 10), Window(length=5, unit=WindowUnit.business_days)) == at(
        2026, 7, 20
    )
    assert FR.window_end(at(2026, 7, 10), Window(length=5, unit=WindowUnit.calendar_days)) == at(
        2026, 7, 15
    )


def test_a_business_country_without_a_holiday_calendar_is_refused_at_startup() -> None:
    with pytest.raises(ValidationError):
        Settings(business_country="XX")
    assert Settings(business_country="DE", business_subdivision="BY").business_country == "DE"
