"""The catalogue builder and the file it ships (no database: the loader has its own tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from babel.numbers import get_currency_precision
from phonenumbers.carrierdata import CARRIER_DATA

from scripts.build_catalogue import (
    DEFAULT_OUTPUT,
    FX_PATH,
    fixed_amounts,
    nice_amount,
    range_amounts,
    write_catalogue,
)
from scripts.catalogue_sources import COUNTRIES
from topup.catalogue.pricing import PricingRule
from topup.kit.money import Money

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_catalogue.py"

REQUIRED_COUNTRIES = frozenset(
    {"NG", "GH", "KE", "IN", "PK", "BD", "NP", "PH", "ID", "MX", "CO", "CU"}
    | {"HT", "DO", "MA", "SN", "CM", "EG", "IT", "FR", "ES", "RO", "PL", "GB"}
)
# Countries whose operators ship without prefixes because libphonenumber has no carrier
# data for them (see CountrySource.has_carrier_data). Growing this set needs a reason.
WITHOUT_CARRIER_DATA = frozenset({"MX"})
# The area codes of the two +1 countries we serve, from the North American Numbering Plan.
NANP_AREA_CODES = {"JM": {"876", "658"}, "DO": {"809", "829", "849"}}
MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}

Json = dict[str, Any]


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    output = tmp_path_factory.mktemp("build") / "catalogue.json"
    write_catalogue(output)
    return output.read_bytes()


@pytest.fixture(scope="module")
def catalogue() -> Json:
    document: Json = json.loads(DEFAULT_OUTPUT.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def fx_file() -> Json:
    document: Json = json.loads(FX_PATH.read_text(encoding="utf-8"))
    return document


def countries_by_iso2(catalogue: Json) -> dict[str, Json]:
    return {country["iso2"]: country for country in catalogue["countries"]}


def all_operators(catalogue: Json) -> list[tuple[Json, Json]]:
    return [(country, op) for country in catalogue["countries"] for op in country["operators"]]


def numbers_from_prefix(prefix: str, region: str) -> list[phonenumbers.PhoneNumber]:
    """Numbers of every possible length of `region` that start with `prefix`, padded with
    runs of one digit (built independently of the builder's own padding)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    assert metadata.general_desc is not None
    code = str(phonenumbers.country_code_for_region(region))
    national_start = prefix[len(code) :]
    return [
        phonenumbers.parse(f"+{prefix}{digit * (length - len(national_start))}")
        for length in metadata.general_desc.possible_length
        if length >= len(national_start)
        for digit in "0123456789"
    ]


# --- the build ----------------------------------------------------------------------------


def test_two_builds_in_different_processes_give_the_same_bytes(
    fresh_build: bytes, tmp_path: Path
) -> None:
    output = tmp_path / "again.json"
    # Another hash seed and working directory: set or dict ordering must not leak into the file.
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(output)],
        check=True,
        cwd=tmp_path,
        env=environment,
        capture_output=True,
    )
    assert output.read_bytes() == fresh_build


def test_the_shipped_file_is_exactly_a_fresh_build(fresh_build: bytes) -> None:
    assert DEFAULT_OUTPUT.read_bytes() == fresh_build, (
        "catalogue.json differs from a fresh build: edit scripts/catalogue_sources.py and "
        "run `.venv/bin/python scripts/build_catalogue.py`, never edit the file by hand"
    )


def test_the_file_is_indented_by_one_space_and_ends_with_a_newline(fresh_build: bytes) -> None:
    text = fresh_build.decode("utf-8")
    assert text.startswith('{\n "format": "topup-catalogue/1",\n')
    assert text.endswith("}\n")
    assert "Côte d'Ivoire" in text  # ensure_ascii=False keeps names readable


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.76031"), 1),
        (Decimal("3.8"), 5),
        (Decimal("26.2"), 25),
        (Decimal("1587.42"), 2000),
        (Decimal("7937.1"), 10000),
        (Decimal("158742"), 200000),
        (Decimal("2"), 2),
    ],
)
def test_nice_amount_snaps_to_the_nearest_round_whole_amount(value: Decimal, expected: int) -> None:
    assert nice_amount(value) == expected


def test_euro_countries_get_the_usual_euro_amounts() -> None:
    assert fixed_amounts("EUR", Decimal(1)) == [5, 10, 15, 20, 25, 50]


def test_the_range_of_naira_runs_in_tens() -> None:
    assert range_amounts(Decimal("1587.42")) == (2000, 200000, 10)


# --- what the file says -------------------------------------------------------------------


def test_header_names_the_fx_date_and_source(catalogue: Json, fx_file: Json) -> None:
    assert catalogue["format"] == "topup-catalogue/1"
    assert catalogue["fx"] == {"date": "2024-06-15", "base": "EUR", "source": fx_file["source"]}
    assert catalogue["pricing"] == {"fee_rate": "0.05", "vat_rate": "0.20"}


def test_at_least_sixty_countries_including_the_required_ones(catalogue: Json) -> None:
    served = set(countries_by_iso2(catalogue))
    assert len(served) >= 60
    missing = REQUIRED_COUNTRIES - served
    assert not missing


def test_only_mexico_ships_without_prefixes_while_libphonenumber_lacks_its_data(
    catalogue: Json,
) -> None:
    without = {source.iso2 for source in COUNTRIES if not source.has_carrier_data}
    assert without == WITHOUT_CARRIER_DATA
    for country, op in all_operators(catalogue):
        assert bool(op["prefixes"]) is (country["iso2"] not in without), op["id"]
    # Fails the day libphonenumber ships +52 carrier data: then curate Mexico's carrier names.
    assert not any(prefix.startswith("52") for prefix in CARRIER_DATA)


def test_countries_are_sorted_and_described_from_cldr(catalogue: Json) -> None:
    iso2s = [country["iso2"] for country in catalogue["countries"]]
    assert iso2s == sorted(iso2s)
    countries = countries_by_iso2(catalogue)
    assert countries["CI"]["name"] == "Côte d'Ivoire"
    assert countries["CD"]["name"] == "Congo (DR)"
    assert countries["NG"]["calling_code"] == "234"
    assert countries["JM"]["calling_code"] == "1"
    expected_currencies = {"CU": "CUP", "EC": "USD", "SV": "USD", "SN": "XOF", "CM": "XAF"}
    expected_currencies |= {"NG": "NGN", "GB": "GBP", "FR": "EUR", "HT": "HTG"}
    for iso2, currency in expected_currencies.items():
        assert countries[iso2]["currency"] == currency, iso2


def test_every_operator_rate_is_the_fx_file_rate_verbatim(catalogue: Json, fx_file: Json) -> None:
    for country, op in all_operators(catalogue):
        assert op["fx_rate"] == fx_file["rates"][country["currency"]], op["id"]


def test_each_country_sells_one_to_six_operators_with_well_formed_ids(catalogue: Json) -> None:
    operator_ids = [op["id"] for _, op in all_operators(catalogue)]
    assert len(operator_ids) == len(set(operator_ids))
    for country in catalogue["countries"]:
        assert 1 <= len(country["operators"]) <= 6, country["iso2"]
        for op in country["operators"]:
            assert op["id"].startswith(f"{country['iso2'].lower()}-")
            assert op["enabled"] is True


def test_every_operator_has_prefixes_under_its_calling_code(catalogue: Json) -> None:
    for country, op in all_operators(catalogue):
        assert op["prefixes"] or country["iso2"] in WITHOUT_CARRIER_DATA, op["id"]
        assert op["prefixes"] == sorted(set(op["prefixes"])), op["id"]
        for prefix in op["prefixes"]:
            assert prefix.startswith(country["calling_code"]), (op["id"], prefix)
            assert prefix in CARRIER_DATA, (op["id"], prefix)


def test_no_two_operators_of_a_country_share_a_prefix(catalogue: Json) -> None:
    for country in catalogue["countries"]:
        owners: dict[str, str] = {}
        for op in country["operators"]:
            for prefix in op["prefixes"]:
                assert prefix not in owners, f"{prefix}: {owners.get(prefix)} and {op['id']}"
                owners[prefix] = op["id"]


def test_each_operator_first_prefix_starts_a_real_mobile_number(catalogue: Json) -> None:
    for country, op in all_operators(catalogue):
        if country["iso2"] in WITHOUT_CARRIER_DATA:
            continue
        numbers = numbers_from_prefix(op["prefixes"][0], country["iso2"])
        assert any(
            phonenumbers.is_valid_number_for_region(number, country["iso2"])
            and phonenumbers.number_type(number) in MOBILE_TYPES
            for number in numbers
        ), op["id"]


@pytest.mark.parametrize("iso2", sorted(NANP_AREA_CODES))
def test_shared_plus_one_prefixes_really_belong_to_their_country(
    catalogue: Json, iso2: str
) -> None:
    country = countries_by_iso2(catalogue)[iso2]
    for op in country["operators"]:
        assert op["prefixes"], op["id"]
        for prefix in op["prefixes"]:
            assert prefix[1:4] in NANP_AREA_CODES[iso2], (op["id"], prefix)
            regions = {
                phonenumbers.region_code_for_number(number)
                for number in numbers_from_prefix(prefix, iso2)
                if phonenumbers.is_valid_number(number)
            }
            assert regions == {iso2}, (op["id"], prefix, regions)


def test_mtn_nigeria_owns_0803_and_checks_balance_with_310(catalogue: Json) -> None:
    nigeria = countries_by_iso2(catalogue)["NG"]
    operators = {op["id"]: op for op in nigeria["operators"]}
    mtn = operators["ng-mtn"]
    assert mtn["name"] == "MTN Nigeria"
    assert "234803" in mtn["prefixes"]
    assert mtn["balance_check_code"] == "*310#"
    assert {"ng-airtel", "ng-glo", "ng-9mobile"} <= set(operators)


def test_balance_codes_are_ussd_or_unknown(catalogue: Json) -> None:
    for _, op in all_operators(catalogue):
        code = op["balance_check_code"]
        assert code is None or (code[0] in "*#" and code.endswith("#")), op["id"]


# --- products -----------------------------------------------------------------------------


def airtime(op: Json) -> list[Json]:
    return [product for product in op["products"] if product.get("type", "topup") == "topup"]


def test_fixed_products_then_exactly_one_range_product(catalogue: Json) -> None:
    for _, op in all_operators(catalogue):
        kinds = [product["kind"] for product in airtime(op)]
        assert kinds.count("range") == 1, op["id"]
        assert kinds[-1] == "range", op["id"]
        assert kinds.count("fixed") >= 1, op["id"]
        values = [p["local_value"] for p in airtime(op) if p["kind"] == "fixed"]
        assert values == sorted(set(values)), op["id"]


def test_each_country_first_operator_sells_a_voucher_a_calling_card_and_a_plan(
    catalogue: Json,
) -> None:
    for country in catalogue["countries"]:
        for position, op in enumerate(country["operators"]):
            typed = [product for product in op["products"] if "type" in product]
            if position > 0:
                assert typed == [], op["id"]
                continue
            assert [product["type"] for product in typed] == ["voucher", "calling_card", "plan"]
            for product in typed:
                assert product["kind"] == "fixed", product["id"]
                assert product["id"].startswith(f"{op['id']}-{product['type'].replace('_', '-')}-")


def test_product_ids_name_their_operator_and_major_amount(catalogue: Json) -> None:
    for country, op in all_operators(catalogue):
        one_major_unit = 10 ** int(get_currency_precision(country["currency"]))
        for product in op["products"]:
            if product["kind"] == "fixed":
                assert product["local_value"] % one_major_unit == 0, product["id"]
                major = product["local_value"] // one_major_unit
                kind = product.get("type", "topup")
                infix = "" if kind == "topup" else f"{kind.replace('_', '-')}-"
                assert product["id"] == f"{op['id']}-{infix}{major}"
            else:
                assert product["id"] == f"{op['id']}-range"


def test_every_price_is_what_the_pricing_rule_gives(catalogue: Json) -> None:
    pricing = catalogue["pricing"]
    for country, op in all_operators(catalogue):
        rule = PricingRule(
            Decimal(op["fx_rate"]), Decimal(pricing["fee_rate"]), Decimal(pricing["vat_rate"])
        )

        def price(local: int, currency: str = country["currency"], rule: PricingRule = rule) -> int:
            return rule.price_of(Money(local, currency)).amount

        for product in op["products"]:
            if product["kind"] == "fixed":
                assert product["price"] == price(product["local_value"]), product["id"]
            else:
                assert product["price_min"] == price(product["local_min"]), product["id"]
                assert product["price_max"] == price(product["local_max"]), product["id"]


def test_range_step_divides_both_bounds(catalogue: Json) -> None:
    for _, op in all_operators(catalogue):
        product = airtime(op)[-1]
        assert 0 < product["local_min"] < product["local_max"], product["id"]
        assert product["local_min"] % product["local_step"] == 0, product["id"]
        assert product["local_max"] % product["local_step"] == 0, product["id"]


def test_range_spans_about_one_to_a_hundred_euros(catalogue: Json) -> None:
    for _, op in all_operators(catalogue):
        product = airtime(op)[-1]
        # Fee and VAT add 26 %, and snapping to a round amount moves the value by a factor
        # between 4/7 (3.49 -> 2) and 4/3 (7.5 -> 10): so 72 to 168 cents per euro of value.
        assert 70 <= product["price_min"] <= 170, product["id"]
        assert 7_000 <= product["price_max"] <= 17_000, product["id"]


def test_descriptions_use_english_number_formatting(catalogue: Json) -> None:
    nigeria = countries_by_iso2(catalogue)["NG"]
    products = {p["id"]: p for p in nigeria["operators"][0]["products"]}
    assert products["ng-mtn-2500"]["description"] == "2,500 NGN airtime"
    assert products["ng-mtn-range"]["description"] == "Any amount from 2,000 to 200,000 NGN"
