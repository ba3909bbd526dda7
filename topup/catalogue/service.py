"""Catalogue use cases: load a catalogue file, switch countries and operators on or off.

Loading is an upsert keyed by id. Nothing is ever deleted, because orders keep pointing
at the products they sold: a country, operator or product missing from a new file is
switched off instead. Every change bumps the catalogue version so every process drops
its in-memory copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from topup.catalogue.models import Country, Operator, Product, ProductType
from topup.catalogue.pricing import PricingRule
from topup.catalogue.repository import CatalogueRepository
from topup.catalogue.schemas import (
    CatalogueFile,
    CountryFile,
    FixedProductFile,
    OperatorFile,
    ProductFile,
)
from topup.kit import clock
from topup.kit.errors import InvalidInput, NotFound
from topup.kit.money import KNOWN_CURRENCIES, Money


class CatalogueFileInvalid(InvalidInput):
    code = "invalid_catalogue"


@dataclass(frozen=True)
class LoadSummary:
    version: int
    countries: int
    operators: int
    products: int
    prefixes: int
    disabled: int


def parse_catalogue(raw: Any) -> CatalogueFile:
    """Validate a decoded catalogue file: its shape, its ids and every price in it."""
    try:
        document = CatalogueFile.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CatalogueFileInvalid(f"{where}: {first['msg']}", field=where) from error
    _check_ids_and_prefixes(document)
    for country in document.countries:
        if country.currency not in KNOWN_CURRENCIES:
            raise CatalogueFileInvalid(f"{country.iso2}: unknown currency {country.currency}")
        for operator in country.operators:
            _check_prices(document, country, operator)
    return document


def _check_ids_and_prefixes(document: CatalogueFile) -> None:
    seen_ids: set[str] = set()
    seen_prefixes: dict[str, str] = {}
    for country in document.countries:
        for operator in country.operators:
            for item_id in [operator.id, *(product.id for product in operator.products)]:
                if item_id in seen_ids:
                    raise CatalogueFileInvalid(f"id {item_id} appears twice")
                seen_ids.add(item_id)
            for prefix in operator.prefixes:
                if not prefix.startswith(country.calling_code):
                    raise CatalogueFileInvalid(
                        f"{operator.id}: prefix {prefix} is outside +{country.calling_code}"
                    )
                if prefix in seen_prefixes:
                    raise CatalogueFileInvalid(
                        f"prefix {prefix} names both {seen_prefixes[prefix]} and {operator.id}"
                    )
                seen_prefixes[prefix] = operator.id


def _check_prices(document: CatalogueFile, country: CountryFile, operator: OperatorFile) -> None:
    """Every price must be what the pricing rule gives: the file cannot undercut the rule."""
    rule = PricingRule(operator.fx_rate, document.pricing.fee_rate, document.pricing.vat_rate)

    def expect(local: int, price: int, product_id: str) -> None:
        wanted = rule.price_of(Money(local, country.currency)).amount
        if price != wanted:
            raise CatalogueFileInvalid(
                f"{product_id}: price {price} does not match the pricing rule ({wanted})"
            )

    for product in operator.products:
        if isinstance(product, FixedProductFile):
            expect(product.local_value, product.price, product.id)
        else:
            expect(product.local_min, product.price_min, product.id)
            expect(product.local_max, product.price_max, product.id)


async def load_catalogue(session: AsyncSession, document: CatalogueFile) -> LoadSummary:
    repository = CatalogueRepository(session)
    countries = await repository.countries_by_iso2()
    operators = await repository.operators_by_id()
    products = await repository.products_by_id()
    seen: set[str] = set()
    prefixes: list[tuple[str, str]] = []
    fee, vat = document.pricing.fee_rate, document.pricing.vat_rate

    for country_file in document.countries:
        seen.add(country_file.iso2)
        _upsert_country(repository, countries.get(country_file.iso2), country_file)
        for position, operator_file in enumerate(country_file.operators):
            seen.add(operator_file.id)
            _upsert_operator(
                repository,
                operators.get(operator_file.id),
                operator_file,
                country_file.iso2,
                position,
            )
            prefixes.extend((prefix, operator_file.id) for prefix in operator_file.prefixes)
            for product_position, product_file in enumerate(operator_file.products):
                seen.add(product_file.id)
                fields = _product_fields(
                    product_file,
                    operator_file.id,
                    country_file.currency,
                    product_position,
                    fee,
                    vat,
                )
                row = products.get(product_file.id)
                if row is None:
                    repository.add(Product(id=product_file.id, **fields))
                else:
                    _assign(row, fields)
    # Operators must exist before their prefixes point at them.
    await session.flush()
    await repository.replace_prefixes(prefixes)

    disabled = 0
    items: list[Country | Operator | Product] = [
        *countries.values(),
        *operators.values(),
        *products.values(),
    ]
    for item in items:
        key = item.iso2 if isinstance(item, Country) else item.id
        if key not in seen and item.enabled:
            item.enabled = False
            disabled += 1
    version = await repository.bump_version(
        now=clock.now(), fx_date=document.fx.date, fx_source=document.fx.source
    )
    return LoadSummary(
        version=version,
        countries=len(document.countries),
        operators=sum(len(country.operators) for country in document.countries),
        products=sum(
            len(operator.products)
            for country in document.countries
            for operator in country.operators
        ),
        prefixes=len(prefixes),
        disabled=disabled,
    )


def _upsert_country(
    repository: CatalogueRepository, row: Country | None, source: CountryFile
) -> None:
    fields = {
        "name": source.name,
        "calling_code": source.calling_code,
        "currency": source.currency,
        "enabled": source.enabled,
    }
    if row is None:
        repository.add(Country(iso2=source.iso2, **fields))
    else:
        _assign(row, fields)


def _upsert_operator(
    repository: CatalogueRepository,
    row: Operator | None,
    source: OperatorFile,
    iso2: str,
    position: int,
) -> None:
    fields = {
        "country_iso2": iso2,
        "name": source.name,
        "balance_check_code": source.balance_check_code,
        "fx_rate": source.fx_rate,
        "position": position,
        "enabled": source.enabled,
    }
    if row is None:
        repository.add(Operator(id=source.id, **fields))
    else:
        _assign(row, fields)


def _product_fields(
    source: ProductFile, operator_id: str, currency: str, position: int, fee: Decimal, vat: Decimal
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "operator_id": operator_id,
        "kind": source.kind,
        "product_type": (
            source.type if isinstance(source, FixedProductFile) else ProductType.topup
        ).value,
        "currency": currency,
        "fee_rate": fee,
        "vat_rate": vat,
        "description": source.description,
        "position": position,
        "enabled": True,
        "local_value": None,
        "price": None,
        "local_min": None,
        "local_max": None,
        "local_step": None,
        "price_min": None,
        "price_max": None,
    }
    if isinstance(source, FixedProductFile):
        fields |= {"local_value": source.local_value, "price": source.price}
    else:
        fields |= {
            "local_min": source.local_min,
            "local_max": source.local_max,
            "local_step": source.local_step,
            "price_min": source.price_min,
            "price_max": source.price_max,
        }
    return fields


def _assign(row: Any, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


async def set_enabled(session: AsyncSession, *, kind: str, identifier: str, enabled: bool) -> int:
    """Switch a country (by ISO code), operator or product on or off; returns the version."""
    repository = CatalogueRepository(session)
    setters = {
        "country": repository.set_country_enabled,
        "operator": repository.set_operator_enabled,
        "product": repository.set_product_enabled,
    }
    if kind not in setters:
        raise InvalidInput(f"unknown catalogue item kind {kind!r}", field="kind")
    if not await setters[kind](identifier, enabled):
        raise NotFound(f"no {kind} {identifier!r} in the catalogue", code=f"{kind}_not_found")
    return await repository.bump_version(now=clock.now())
