"""Number lookup rules, on a small catalogue so every branch is reachable on purpose."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.catalogues import small_catalogue
from topup.catalogue.service import load_catalogue, parse_catalogue, set_enabled
from topup.catalogue.snapshot import CatalogueCache, CatalogueSnapshot
from topup.kit.db import create_session_factory, unit_of_work
from topup.kit.errors import InvalidInput
from topup.lookup.service import look_up_number
from topup.providers.suppliers.base import (
    DetectedBy,
    LineType,
    NumberInfo,
    NumberLookup,
    SupplierUnavailable,
)
from topup.providers.suppliers.prefix import FallbackLookup, PrefixLookup
from topup.providers.suppliers.simulator import SupplierSimulator

MTN_GHANA = "+233241234567"
TELECEL_GHANA = "+233201234567"
AIRTELTIGO_GHANA = "+233271234567"  # a real Ghana mobile range the small catalogue lacks


@pytest.fixture
async def cache(empty_engine: AsyncEngine) -> CatalogueCache:
    factory = create_session_factory(empty_engine)
    async with unit_of_work(factory) as session:
        await load_catalogue(session, parse_catalogue(small_catalogue()))
    return CatalogueCache(factory, ttl=0)


def chain(cache: CatalogueCache, timeout: float = 1.0) -> FallbackLookup:
    return FallbackLookup(SupplierSimulator(cache), PrefixLookup(cache), timeout_seconds=timeout)


async def lookup(cache: CatalogueCache, phone: str, **options: str) -> object:
    snapshot: CatalogueSnapshot = await cache.get()
    return await look_up_number(snapshot, chain(cache), phone=phone, **options)


async def expect_error(
    cache: CatalogueCache, code: str, field: str, phone: str, **options: str
) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        await lookup(cache, phone, **options)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert caught.value.status_code == 422
    return caught.value


async def test_detects_operator_through_the_supplier(cache: CatalogueCache) -> None:
    result = await look_up_number(await cache.get(), chain(cache), phone=MTN_GHANA)
    assert result.e164 == MTN_GHANA
    assert result.country.iso2 == "GH"
    assert result.operator.id == "gh-mtn"
    assert result.line_type is LineType.prepaid
    assert result.detected_by is DetectedBy.supplier
    assert [product.id for product in result.products] == [
        "gh-mtn-500",
        "gh-mtn-1000",
        "gh-mtn-2000",
        "gh-mtn-range",
    ]


@pytest.mark.parametrize(
    ("written", "country"),
    [
        ("+233 24 123 4567", None),
        ("00233-24-123-4567", None),
        ("+233.24.123.4567", None),
        ("024 123 4567", "GH"),
        ("(024) 123-4567", "gh"),
        ("  +233241234567  ", None),
    ],
)
async def test_messy_input_names_the_same_number(
    cache: CatalogueCache, written: str, country: str | None
) -> None:
    snapshot = await cache.get()
    result = await look_up_number(snapshot, chain(cache), phone=written, country=country)
    assert result.e164 == MTN_GHANA


async def test_ported_number_follows_the_supplier_not_the_prefix(cache: CatalogueCache) -> None:
    result = await look_up_number(await cache.get(), chain(cache), phone="+233241230008")
    assert result.operator.id == "gh-telecel"
    assert result.detected_by is DetectedBy.supplier


class BrokenSupplier:
    async def lookup(self, e164: str) -> NumberInfo:
        raise SupplierUnavailable("connection reset")


class SlowSupplier:
    async def lookup(self, e164: str) -> NumberInfo:
        await asyncio.sleep(5)
        raise AssertionError("the timeout should have stopped this")


@pytest.mark.parametrize("supplier", [BrokenSupplier(), SlowSupplier()], ids=["down", "slow"])
async def test_prefixes_answer_when_the_supplier_cannot(
    cache: CatalogueCache, supplier: NumberLookup
) -> None:
    number_lookup = FallbackLookup(supplier, PrefixLookup(cache), timeout_seconds=0.05)
    result = await look_up_number(await cache.get(), number_lookup, phone=TELECEL_GHANA)
    assert result.operator.id == "gh-telecel"
    assert result.detected_by is DetectedBy.prefix
    assert result.line_type is LineType.unknown


async def test_postpaid_line_is_refused(cache: CatalogueCache) -> None:
    await expect_error(cache, "not_prepaid", "phone", "+233241230009")


async def test_number_outside_every_operator_range_is_unknown(cache: CatalogueCache) -> None:
    await expect_error(cache, "operator_unknown", "phone", AIRTELTIGO_GHANA)


async def test_customer_can_correct_the_operator(cache: CatalogueCache) -> None:
    snapshot = await cache.get()
    result = await look_up_number(snapshot, chain(cache), phone=MTN_GHANA, operator_id="gh-telecel")
    assert result.operator.id == "gh-telecel"
    assert result.detected_by is DetectedBy.customer
    # Even a number no range covers can be bought for, once the customer names the operator.
    unknown = await look_up_number(
        snapshot, chain(cache), phone=AIRTELTIGO_GHANA, operator_id="gh-mtn"
    )
    assert unknown.operator.id == "gh-mtn"


@pytest.mark.parametrize("operator_id", ["sn-orange", "zz-nobody"])
async def test_correction_must_name_an_operator_of_that_country(
    cache: CatalogueCache, operator_id: str
) -> None:
    await expect_error(cache, "invalid_operator", "operator_id", MTN_GHANA, operator_id=operator_id)


async def test_country_must_match_an_international_number(cache: CatalogueCache) -> None:
    error = await expect_error(cache, "country_mismatch", "phone", MTN_GHANA, country="SN")
    assert "GH" in error.message


@pytest.mark.parametrize("country", ["GHA", "G", "1H", "Ğh"])
async def test_country_must_be_an_iso_code(cache: CatalogueCache, country: str) -> None:
    await expect_error(cache, "invalid_country", "country", "024 123 4567", country=country)


@pytest.mark.parametrize(
    "phone",
    [
        "+4915123456789",  # a German mobile: valid, but Germany is not in this catalogue
        "+14155550123",
    ],
)
async def test_countries_we_do_not_serve_are_refused(cache: CatalogueCache, phone: str) -> None:
    await expect_error(cache, "unsupported_country", "phone", phone)


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "   ",
        "hello",
        "+233 24 CALL ME",
        "+233 24",
        "+23324123456789012",
        "024 123 4567",
        "+233 24 123 4567 ext. 12",
        "+" + "1" * 60,
        "+800 1234 5678",
        "+233 30 212 3456",  # an Accra landline: real, but not mobile
    ],
)
async def test_unusable_numbers_are_invalid(cache: CatalogueCache, phone: str) -> None:
    await expect_error(cache, "invalid_phone", "phone", phone)


async def test_switched_off_country_is_not_served(
    cache: CatalogueCache, empty_engine: AsyncEngine
) -> None:
    async with unit_of_work(create_session_factory(empty_engine)) as session:
        await set_enabled(session, kind="country", identifier="GH", enabled=False)
    await expect_error(cache, "unsupported_country", "phone", MTN_GHANA)


async def test_switched_off_operator_is_paused(
    cache: CatalogueCache, empty_engine: AsyncEngine
) -> None:
    async with unit_of_work(create_session_factory(empty_engine)) as session:
        await set_enabled(session, kind="operator", identifier="gh-mtn", enabled=False)
    error = await expect_error(cache, "operator_unavailable", "phone", MTN_GHANA)
    assert "MTN Ghana" in error.message
