"""How a discount is worked out: rounding and the minimum charge, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.promotions.models import DiscountKind, PromoCode
from topup.promotions.service import MIN_CHARGE, discount_of, normalised


def percent(value: str) -> PromoCode:
    return PromoCode(kind=DiscountKind.percent.value, percent_off=Decimal(value))


def fixed(cents: int) -> PromoCode:
    return PromoCode(kind=DiscountKind.fixed.value, amount_off=cents)


@pytest.mark.parametrize(
    ("code", "list_price", "discount"),
    [
        (percent("50"), 1001, 501),  # 500.5 cents: the half cent goes to the customer
        (percent("50"), 1003, 502),  # 501.5: half up, not to the even cent
        (percent("10"), 794, 79),  # 79.4
        (percent("12.5"), 796, 100),  # 99.5
        (percent("100"), 794, 794 - MIN_CHARGE),  # never below the minimum charge
        (fixed(200), 794, 200),
        (fixed(10_000), 794, 794 - MIN_CHARGE),
        (fixed(200), MIN_CHARGE, 0),  # nothing left to take off: refused as not applicable
        (percent("10"), 30, 0),
    ],
)
def test_discounts(code: PromoCode, list_price: int, discount: int) -> None:
    assert discount_of(code, list_price) == discount


@given(
    st.integers(min_value=1, max_value=10**9),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
)
def test_a_percent_discount_never_leaves_less_than_the_minimum_charge(
    list_price: int, off: Decimal
) -> None:
    discount = discount_of(percent(str(off)), list_price)

    assert 0 <= discount <= max(0, list_price - MIN_CHARGE)
    assert discount * 100 <= list_price * off + 50  # at most half a cent above the share


def test_codes_are_compared_upper_case_without_spaces() -> None:
    assert normalised("  summer-25 ") == "SUMMER-25"
