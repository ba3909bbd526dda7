"""Loading catalogue files: validation, upsert by id, switching off, versions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.catalogues import small_catalogue
from topup.catalogue.models import Country, Operator, OperatorPrefix, Product
from topup.catalogue.repository import CatalogueRepository
from topup.catalogue.service import (
    CatalogueFileInvalid,
    load_catalogue,
    parse_catalogue,
    set_enabled,
)
from topup.catalogue.snapshot import read_snapshot
from topup.kit.db import create_session_factory, unit_of_work
from topup.kit.errors import InvalidInput, NotFound


async def load(engine: AsyncEngine, raw: dict[str, Any]) -> Any:
    async with unit_of_work(create_session_factory(engine)) as session:
        return await load_catalogue(session, parse_catalogue(raw))


async def count(engine: AsyncEngine, model: Any, *where: Any) -> int:
    async with create_session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_load_stores_every_row_and_reports_counts(empty_engine: AsyncEngine) -> None:
    summary = await load(empty_engine, small_catalogue())
    assert (summary.countries, summary.operators, summary.products, summary.prefixes) == (
        2,
        3,
        11,
        6,
    )
    assert summary.version == 1
    assert await count(empty_engine, Product) == 11
    assert await count(empty_engine, OperatorPrefix) == 6


async def test_reloading_updates_in_place_and_switches_off_what_is_gone(
    empty_engine: AsyncEngine,
) -> None:
    await load(empty_engine, small_catalogue())
    changed = small_catalogue()
    ghana = changed["countries"][0]
    ghana["operators"][0]["name"] = "MTN Ghana (new name)"
    del ghana["operators"][1]  # Telecel leaves the file
    summary = await load(empty_engine, changed)
    assert summary.version == 2
    # Telecel and its three products are switched off, never deleted: orders point at them.
    assert summary.disabled == 4
    assert await count(empty_engine, Operator) == 3
    assert await count(empty_engine, Operator, Operator.enabled.is_(False)) == 1
    async with create_session_factory(empty_engine)() as session:
        snapshot = await read_snapshot(session)
    assert snapshot.operators["gh-mtn"].name == "MTN Ghana (new name)"
    assert [entry.id for entry in snapshot.operators_of("GH")] == ["gh-mtn"]
    # The dropped operator's prefixes are gone, so its numbers are no longer detected.
    assert snapshot.operator_for_number("233201234567") is None


async def test_reload_switches_back_on_what_returns(empty_engine: AsyncEngine) -> None:
    await load(empty_engine, small_catalogue())
    without_senegal = small_catalogue()
    del without_senegal["countries"][1]
    await load(empty_engine, without_senegal)
    assert await count(empty_engine, Country, Country.enabled.is_(True)) == 1
    await load(empty_engine, small_catalogue())
    assert await count(empty_engine, Country, Country.enabled.is_(True)) == 2
    assert await count(empty_engine, Product, Product.enabled.is_(False)) == 0


def _break(mutate: Any) -> dict[str, Any]:
    raw = small_catalogue()
    mutate(raw)
    return raw


def _ghana_mtn(raw: dict[str, Any]) -> dict[str, Any]:
    operator: dict[str, Any] = raw["countries"][0]["operators"][0]
    return operator


BROKEN_FILES = {
    "wrong format": lambda raw: raw.update(format="topup-catalogue/2"),
    "price below the rule": lambda raw: _ghana_mtn(raw)["products"][0].update(price=1),
    "price above the rule": lambda raw: _ghana_mtn(raw)["products"][0].update(price=10**6),
    "range bound mispriced": lambda raw: _ghana_mtn(raw)["products"][-1].update(price_max=1),
    "step not dividing bounds": lambda raw: _ghana_mtn(raw)["products"][-1].update(local_step=7),
    "duplicate id": lambda raw: raw["countries"][1]["operators"][0].update(id="gh-mtn"),
    "prefix of another country": lambda raw: _ghana_mtn(raw).update(prefixes=["22177"]),
    "prefix shared by two operators": lambda raw: raw["countries"][0]["operators"][1].update(
        prefixes=["23324"]
    ),
    "unknown currency": lambda raw: raw["countries"][0].update(currency="XXZ"),
    "negative local value": lambda raw: _ghana_mtn(raw)["products"][0].update(local_value=-5),
    "float amount": lambda raw: _ghana_mtn(raw)["products"][0].update(local_value=500.5),
    "unknown field": lambda raw: _ghana_mtn(raw).update(colour="yellow"),
    "bad USSD code": lambda raw: _ghana_mtn(raw).update(balance_check_code="call me"),
    "no products": lambda raw: _ghana_mtn(raw).update(products=[]),
    "zero fx rate": lambda raw: _ghana_mtn(raw).update(fx_rate="0"),
}


@pytest.mark.parametrize("mutation", BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
def test_broken_files_are_refused_with_a_reason(mutation: Any) -> None:
    with pytest.raises(CatalogueFileInvalid) as caught:
        parse_catalogue(_break(mutation))
    assert caught.value.code == "invalid_catalogue"
    assert caught.value.message


async def test_switching_off_and_on_bumps_the_version(empty_engine: AsyncEngine) -> None:
    await load(empty_engine, small_catalogue())
    factory = create_session_factory(empty_engine)
    for kind, identifier in [
        ("country", "SN"),
        ("operator", "gh-mtn"),
        ("product", "gh-telecel-500"),
    ]:
        async with unit_of_work(factory) as session:
            await set_enabled(session, kind=kind, identifier=identifier, enabled=False)
    async with factory() as session:
        snapshot = await read_snapshot(session)
        assert await CatalogueRepository(session).current_version() == 4
    assert snapshot.served_country("SN") is None
    assert snapshot.available_operator("sn-orange") is None
    assert snapshot.available_operator("gh-mtn") is None
    assert [entry.id for entry in snapshot.products_of("gh-telecel")] == [
        "gh-telecel-1000",
        "gh-telecel-range",
    ]
    async with unit_of_work(factory) as session:
        await set_enabled(session, kind="operator", identifier="gh-mtn", enabled=True)
    async with factory() as session:
        assert (await read_snapshot(session)).available_operator("gh-mtn") is not None


async def test_switching_unknown_items_fails_clearly(empty_engine: AsyncEngine) -> None:
    await load(empty_engine, small_catalogue())
    async with unit_of_work(create_session_factory(empty_engine)) as session:
        with pytest.raises(NotFound) as caught:
            await set_enabled(session, kind="operator", identifier="zz-none", enabled=False)
        assert caught.value.code == "operator_not_found"
        with pytest.raises(InvalidInput):
            await set_enabled(session, kind="planet", identifier="earth", enabled=False)


async def test_database_refuses_a_fixed_product_without_a_price(empty_engine: AsyncEngine) -> None:
    """The CHECK constraints hold even when Python is bypassed."""
    from sqlalchemy.exc import IntegrityError

    await load(empty_engine, small_catalogue())
    async with create_session_factory(empty_engine)() as session:
        row = await session.get(Product, "gh-mtn-500")
        assert row is not None
        row.price = None
        with pytest.raises(IntegrityError):
            await session.flush()
