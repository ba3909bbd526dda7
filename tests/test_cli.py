"""The ``topup`` command line on a SQLite file: migrate, load the catalogue, switch items."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from topup.catalogue.models import Operator
from topup.catalogue.schemas import CatalogueFile
from topup.cli import SHIPPED_CATALOGUE, app
from topup.config import get_settings
from topup.kit.db import create_engine

runner = CliRunner()


@pytest.fixture
def database_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """TOPUP_DATABASE_URL names a new SQLite file; nothing else of the machine leaks in."""
    for name in [name for name in os.environ if name.startswith("TOPUP_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "topup.db"
    monkeypatch.setenv("TOPUP_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def topup(*arguments: str) -> Result:
    return runner.invoke(app, list(arguments))


def operator_enabled(database: Path, operator_id: str) -> bool | None:
    async def read() -> bool | None:
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with engine.connect() as connection:
                query = select(Operator.enabled).where(Operator.id == operator_id)
                enabled: bool | None = await connection.scalar(query)
                return enabled
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def loaded_database(database_file: Path) -> Path:
    assert topup("db", "upgrade").exit_code == 0
    assert topup("catalogue", "load").exit_code == 0
    return database_file


def test_db_upgrade_creates_the_schema(database_file: Path) -> None:
    result = topup("db", "upgrade")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Database at head."
    assert database_file.stat().st_size > 0


def test_catalogue_load_prints_the_counts(
    database_file: Path, shipped_catalogue: CatalogueFile
) -> None:
    topup("db", "upgrade")

    result = topup("catalogue", "load")

    operators = [
        operator for country in shipped_catalogue.countries for operator in country.operators
    ]
    products = sum(len(operator.products) for operator in operators)
    prefixes = sum(len(operator.prefixes) for operator in operators)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Catalogue version 1: {len(shipped_catalogue.countries)} countries, "
        f"{len(operators)} operators, {products} products, {prefixes} prefixes; "
        "0 switched off."
    )
    assert operator_enabled(database_file, "ng-mtn") is True


def test_loading_the_same_file_again_bumps_the_version(loaded_database: Path) -> None:
    result = topup("catalogue", "load", str(SHIPPED_CATALOGUE))

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Catalogue version 2: ")
    assert result.output.strip().endswith("0 switched off.")


def test_a_file_that_is_not_json_is_refused(loaded_database: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "topup-catalogue/1", "countries": [', encoding="utf-8")

    result = topup("catalogue", "load", str(broken))

    assert result.exit_code == 1
    assert f"{broken} is not JSON" in result.output


def test_a_missing_file_is_refused(loaded_database: Path, tmp_path: Path) -> None:
    result = topup("catalogue", "load", str(tmp_path / "absent.json"))

    assert result.exit_code == 1
    assert "Cannot read" in result.output
    assert "No such file or directory" in result.output


def shipped_document() -> dict[str, object]:
    document: dict[str, object] = json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8"))
    return document


def first_product(document: dict[str, object]) -> dict[str, object]:
    countries = document["countries"]
    assert isinstance(countries, list)
    product: dict[str, object] = countries[0]["operators"][0]["products"][0]
    return product


def test_a_price_below_the_pricing_rule_is_refused(loaded_database: Path, tmp_path: Path) -> None:
    document = shipped_document()
    product = first_product(document)
    price_key = "price" if product["kind"] == "fixed" else "price_min"
    price = product[price_key]
    assert isinstance(price, int)
    product[price_key] = price - 1
    undercut = tmp_path / "undercut.json"
    undercut.write_text(json.dumps(document), encoding="utf-8")

    result = topup("catalogue", "load", str(undercut))

    assert result.exit_code == 1
    assert f"{undercut} is not a valid catalogue" in result.output
    assert f"{product['id']}: price {price - 1} does not match the pricing rule ({price})" in (
        result.output
    )


def test_a_file_of_the_wrong_shape_is_refused(loaded_database: Path, tmp_path: Path) -> None:
    document = shipped_document()
    document["format"] = "topup-catalogue/2"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(document), encoding="utf-8")

    result = topup("catalogue", "load", str(wrong))

    assert result.exit_code == 1
    assert f"{wrong} is not a valid catalogue: format:" in result.output


def test_a_refused_file_changes_nothing(loaded_database: Path, tmp_path: Path) -> None:
    document = shipped_document()
    document["countries"] = []
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(document), encoding="utf-8")

    assert topup("catalogue", "load", str(empty)).exit_code == 1
    assert operator_enabled(loaded_database, "ng-mtn") is True


def test_an_operator_is_switched_off_and_on(loaded_database: Path) -> None:
    disabled = topup("catalogue", "disable", "operator", "ng-mtn")

    assert disabled.exit_code == 0, disabled.output
    assert disabled.output.strip() == "Operator ng-mtn switched off (catalogue version 2)."
    assert operator_enabled(loaded_database, "ng-mtn") is False
    assert operator_enabled(loaded_database, "ng-airtel") is True

    enabled = topup("catalogue", "enable", "operator", "ng-mtn")

    assert enabled.exit_code == 0, enabled.output
    assert enabled.output.strip() == "Operator ng-mtn switched on (catalogue version 3)."
    assert operator_enabled(loaded_database, "ng-mtn") is True


def test_disabling_an_unknown_operator_fails(loaded_database: Path) -> None:
    result = topup("catalogue", "disable", "operator", "zz-nobody")

    assert result.exit_code == 1
    assert "no operator 'zz-nobody' in the catalogue" in result.output


def test_an_unknown_kind_of_item_fails(loaded_database: Path) -> None:
    result = topup("catalogue", "disable", "planet", "ng-mtn")

    assert result.exit_code == 1
    assert "unknown catalogue item kind 'planet'" in result.output
    assert operator_enabled(loaded_database, "ng-mtn") is True
