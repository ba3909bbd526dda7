from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.catalogue.pricing import PricingRule
from topup.kit.money import Money

RULE = PricingRule(Decimal("1587.42"), Decimal("0.05"), Decimal("0.20"))


def test_price_includes_fee_and_vat_and_rounds_up_to_the_cent() -> None:
    # 1,000 NGN = 0.62996... EUR; × 1.05 × 1.20 = 0.79375... → 0.80 EUR, never 0.79.
    assert RULE.price_of(Money(100_000, "NGN")) == Money(80, "EUR")


def test_currency_without_minor_unit_is_priced_from_whole_units() -> None:
    rule = PricingRule(Decimal("656.004470"), Decimal("0.05"), Decimal("0.20"))
    # 1,000 XOF = 1.52438... EUR; × 1.26 = 1.92072... → 1.93 EUR.
    assert rule.price_of(Money(1000, "XOF")) == Money(193, "EUR")


@given(st.integers(min_value=1, max_value=10**12))
def test_price_never_undercuts_cost_plus_fee_and_vat(local_minor: int) -> None:
    price = RULE.price_of(Money(local_minor, "NGN"))
    exact = Decimal(local_minor) / 100 / RULE.fx_rate * Decimal("1.05") * Decimal("1.20")
    assert price.to_major() >= exact
    assert price.to_major() - exact < Decimal("0.01")


@pytest.mark.parametrize(
    ("fx", "fee", "vat"),
    [("0", "0.05", "0.2"), ("-1", "0", "0"), ("1", "-0.01", "0"), ("1", "0", "-0.2")],
)
def test_rule_refuses_impossible_rates(fx: str, fee: str, vat: str) -> None:
    with pytest.raises(ValueError, match=r"must be positive|cannot be negative"):
        PricingRule(Decimal(fx), Decimal(fee), Decimal(vat))
