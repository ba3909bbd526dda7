"""Money: integer minor units, known currencies, explicit rounding through Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.kit.money import Money, currency_exponent, minor_unit

# The BIGINT columns that store amounts hold exactly this range.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
CURRENCIES = ["EUR", "NGN", "XOF", "JPY", "KWD", "GHS", "INR"]


@pytest.mark.parametrize("amount", [1.5, 100.0, Decimal("1.00"), "100"])
def test_an_amount_that_is_not_an_int_is_refused(amount: object) -> None:
    with pytest.raises(TypeError, match="int of minor units"):
        Money(amount, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [True, False])
def test_a_bool_is_not_an_amount(amount: bool) -> None:
    with pytest.raises(TypeError, match="int of minor units"):
        Money(amount, "EUR")


@pytest.mark.parametrize("currency", ["XXY", "eur", "EURO", ""])
def test_an_unknown_currency_is_refused(currency: str) -> None:
    with pytest.raises(ValueError, match="unknown currency"):
        Money(100, currency)


@pytest.mark.parametrize(
    ("currency", "exponent", "unit"),
    [
        ("EUR", 2, Decimal("0.01")),
        ("NGN", 2, Decimal("0.01")),
        ("XOF", 0, Decimal(1)),
        ("KWD", 3, Decimal("0.001")),
    ],
)
def test_each_currency_has_its_own_exponent(currency: str, exponent: int, unit: Decimal) -> None:
    assert currency_exponent(currency) == exponent
    assert minor_unit(currency) == unit


@pytest.mark.parametrize(
    ("major", "expected"),
    [("2.345", 234), ("2.355", 236), ("2.3451", 235), ("-2.345", -234), ("2", 200)],
)
def test_from_major_rounds_half_to_even_by_default(major: str, expected: int) -> None:
    assert Money.from_major(Decimal(major), "EUR") == Money(expected, "EUR")


@pytest.mark.parametrize(
    ("major", "expected"),
    [("2.341", 235), ("2.345", 235), ("2.340", 234), ("-2.349", -234), ("0.001", 1)],
)
def test_from_major_rounds_up_towards_the_ceiling_for_prices(major: str, expected: int) -> None:
    assert Money.from_major(Decimal(major), "EUR", round_up=True).amount == expected


def test_a_currency_without_minor_units_rounds_to_whole_units() -> None:
    assert Money.from_major("1000.5", "XOF").amount == 1000
    assert Money.from_major("1001.5", "XOF").amount == 1002
    assert Money.from_major("1000.01", "XOF", round_up=True).amount == 1001
    assert Money(1500, "XOF").to_major() == Decimal(1500)
    assert str(Money(1500, "XOF")) == "1500 XOF"


def test_naira_has_kobo() -> None:
    money = Money.from_major("1587.42", "NGN")

    assert money.amount == 158742
    assert money.to_major() == Decimal("1587.42")
    assert money.as_json() == {"amount": 158742, "currency": "NGN"}
    assert str(money) == "1587.42 NGN"


def test_euros_are_cents() -> None:
    assert Money.from_major(12, "EUR") == Money(1200, "EUR")
    assert Money(1999, "EUR").to_major() == Decimal("19.99")


@given(
    amount=st.integers(min_value=BIGINT_MIN, max_value=BIGINT_MAX),
    currency=st.sampled_from(CURRENCIES),
)
def test_major_units_round_trip_exactly(amount: int, currency: str) -> None:
    money = Money(amount, currency)

    assert Money.from_major(money.to_major(), currency) == money
    assert Money.from_major(money.to_major(), currency, round_up=True) == money


@pytest.mark.parametrize("amount", [BIGINT_MAX + 1, BIGINT_MIN - 1, 10**28])
def test_an_amount_beyond_what_the_ledger_stores_is_refused(amount: int) -> None:
    with pytest.raises(ValueError, match="outside the range"):
        Money(amount, "EUR")


def test_the_edges_of_the_stored_range_are_amounts() -> None:
    assert Money(BIGINT_MAX, "EUR").amount == BIGINT_MAX
    assert Money(BIGINT_MIN, "EUR").amount == BIGINT_MIN


def test_from_major_refuses_a_float_even_from_an_untyped_caller() -> None:
    with pytest.raises(TypeError, match="never a float"):
        Money.from_major(0.1, "EUR")  # type: ignore[arg-type]
