"""The sandbox gateway follows Stripe's test cards and card-number rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.kit import clock
from topup.providers.payments.base import CardBrand, CardDetails, CardRejected
from topup.providers.payments.sandbox import SandboxGateway, luhn_valid

GATEWAY = SandboxGateway()
NEXT_YEAR = clock.now().year + 1


def card(number: str, *, month: int = 12, year: int = NEXT_YEAR, cvc: str = "123") -> CardDetails:
    return CardDetails(number, month, year, cvc)


@pytest.mark.parametrize(
    ("number", "brand", "outcome"),
    [
        ("4242 4242 4242 4242", CardBrand.visa, "success"),
        ("5555-5555-5555-4444", CardBrand.mastercard, "success"),
        ("2223003122003222", CardBrand.mastercard, "success"),
        ("4000000000000002", CardBrand.visa, "card_declined"),
        ("4000000000009995", CardBrand.visa, "insufficient_funds"),
        ("4000000000000069", CardBrand.visa, "expired_card"),
        ("4100000000000019", CardBrand.visa, "fraudulent"),
    ],
)
async def test_test_cards_tokenise_with_their_behaviour(
    number: str, brand: CardBrand, outcome: str
) -> None:
    tokenized = await GATEWAY.tokenize(card(number))
    assert tokenized.brand is brand
    assert tokenized.last4 == number[-4:]
    assert tokenized.token.startswith(f"tok_sandbox_{outcome}_")
    digits = number.replace(" ", "").replace("-", "")
    assert digits not in tokenized.token
    assert digits not in tokenized.fingerprint


async def test_the_same_card_has_the_same_fingerprint_and_new_tokens() -> None:
    first = await GATEWAY.tokenize(card("4242424242424242"))
    second = await GATEWAY.tokenize(card("4242 4242 4242 4242", cvc="999"))
    other = await GATEWAY.tokenize(card("5555555555554444"))
    assert first.fingerprint == second.fingerprint != other.fingerprint
    assert first.token != second.token


@pytest.mark.parametrize(
    ("details", "code", "field"),
    [
        (card("378282246310005", cvc="1234"), "unsupported_card_brand", "number"),
        (card("6011111111111117"), "unsupported_card_brand", "number"),  # Discover
        (card("4242424242424241"), "invalid_card_number", "number"),  # Luhn fails
        (card("4242 4242 abcd 4242"), "invalid_card_number", "number"),
        (card("42424242"), "invalid_card_number", "number"),
        (card("４２４２４２４２４２４２４２４２"), "invalid_card_number", "number"),  # full-width
        (card("4242424242424242", month=13), "invalid_expiry", "exp_month"),
        (card("4242424242424242", year=2020), "expired_card", "exp_year"),
        (card("4242424242424242", cvc="12"), "invalid_cvc", "cvc"),
        (card("4242424242424242", cvc="12a"), "invalid_cvc", "cvc"),
    ],
)
async def test_unusable_cards_are_refused(details: CardDetails, code: str, field: str) -> None:
    with pytest.raises(CardRejected) as caught:
        await GATEWAY.tokenize(details)
    assert (caught.value.code, caught.value.field) == (code, field)


async def test_a_card_works_to_the_end_of_its_expiry_month() -> None:
    now = clock.now()
    tokenized = await GATEWAY.tokenize(card("4242424242424242", month=now.month, year=now.year))
    assert tokenized.exp_month == now.month


@given(st.text(max_size=40))
async def test_any_text_is_a_card_or_a_clean_refusal(number: str) -> None:
    fields = set()
    try:
        await GATEWAY.tokenize(card(number))
    except CardRejected as rejected:
        fields.add(rejected.field)
    assert fields <= {"number"}  # only the number can be wrong: the rest of the card is fine


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4242424242424242", True), ("79927398713", True), ("79927398710", False), ("0", True)],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid
