"""An immutable, in-memory copy of the catalogue, and the cache that keeps it fresh.

Catalogue reads are by far the most frequent requests (every lookup, every page), and the
catalogue changes a few times a day. So each process reads it once into a
:class:`CatalogueSnapshot`, answers from memory, and re-reads only when the version row in
the database says something changed. Answers are rendered to bytes once per version, with
an ETag, so a repeated request costs a dictionary look-up.

Operator promotions are part of the snapshot, but whether one shows depends on the time as
well as on the version: it shows from ``starts_at`` to ``ends_at``. So the snapshot keeps
every window's edges, sorted; between two edges the set of running promotions cannot
change, and the rendered answers are kept per such interval. Finding the interval is one
bisection per request, and nothing at all while no promotion is known.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.catalogue.models import OperatorPromotion
from topup.catalogue.pricing import PRICE_CURRENCY, PricingRule
from topup.catalogue.repository import CatalogueRepository
from topup.kit import clock
from topup.kit.jsonbody import RenderedBody
from topup.kit.money import Money


@dataclass(frozen=True, slots=True)
class CountryEntry:
    iso2: str
    name: str
    calling_code: str
    currency: str
    enabled: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "iso2": self.iso2,
            "name": self.name,
            "calling_code": self.calling_code,
            "currency": self.currency,
        }


@dataclass(frozen=True, slots=True)
class OperatorEntry:
    id: str
    country_iso2: str
    name: str
    balance_check_code: str | None
    fx_rate: Decimal
    enabled: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "country": self.country_iso2,
            "balance_check_code": self.balance_check_code,
        }


@dataclass(frozen=True, slots=True)
class ProductEntry:
    id: str
    operator_id: str
    kind: str
    currency: str
    local_value: int | None
    local_min: int | None
    local_max: int | None
    local_step: int | None
    price: int | None
    price_min: int | None
    price_max: int | None
    pricing: PricingRule
    description: str
    product_type: str = "topup"

    def price_for(self, local_amount: int) -> Money:
        """The EUR price of ``local_amount`` (minor units) for a range product."""
        return self.pricing.price_of(Money(local_amount, self.currency))

    def as_json(self) -> dict[str, Any]:
        def local(amount: int | None) -> dict[str, Any] | None:
            return None if amount is None else {"amount": amount, "currency": self.currency}

        def eur(amount: int | None) -> dict[str, Any] | None:
            return None if amount is None else {"amount": amount, "currency": PRICE_CURRENCY}

        body: dict[str, Any] = {
            "id": self.id,
            "operator_id": self.operator_id,
            "kind": self.kind,
            "type": self.product_type,
        }
        if self.kind == "fixed":
            body |= {"local_value": local(self.local_value), "price": eur(self.price)}
        else:
            body |= {
                "local_min": local(self.local_min),
                "local_max": local(self.local_max),
                "local_step": local(self.local_step),
                "price_min": eur(self.price_min),
                "price_max": eur(self.price_max),
            }
        body["description"] = self.description
        return body


@dataclass(frozen=True, slots=True)
class PromotionEntry:
    id: str
    operator_id: str
    title: str
    description: str
    bonus_percent: int | None
    bonus_text: str | None
    denominations: str | None
    product_ids: frozenset[str] | None  # None: every product of the operator
    starts_at: datetime
    ends_at: datetime

    def running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def applies_to(self, product_id: str) -> bool:
        return self.product_ids is None or product_id in self.product_ids

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "bonus_percent": self.bonus_percent,
            "bonus_text": self.bonus_text,
            "denominations": self.denominations,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
        }


def window_edges(promotions: Iterable[PromotionEntry]) -> tuple[datetime, ...]:
    edges = {edge for entry in promotions for edge in (entry.starts_at, entry.ends_at)}
    return tuple(sorted(edges))


@dataclass
class CatalogueSnapshot:
    version: int
    fx_date: str
    countries: Mapping[str, CountryEntry]
    operators: Mapping[str, OperatorEntry]
    products_by_operator: Mapping[str, tuple[ProductEntry, ...]]
    products: Mapping[str, ProductEntry]
    prefixes: Mapping[str, str]
    longest_prefix: int
    promotions_by_operator: Mapping[str, tuple[PromotionEntry, ...]] = field(default_factory=dict)
    edges: tuple[datetime, ...] = ()  # every promotion's starts_at and ends_at, sorted
    _rendered: dict[str, RenderedBody] = field(default_factory=dict)
    _products_json: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _interval: int = -1  # which interval between edges the rendered answers belong to

    # ---- what customers may buy ----------------------------------------------------------

    def served_country(self, iso2: str) -> CountryEntry | None:
        country = self.countries.get(iso2)
        return country if country is not None and country.enabled else None

    def available_operator(self, operator_id: str) -> OperatorEntry | None:
        operator = self.operators.get(operator_id)
        if operator is None or not operator.enabled:
            return None
        return operator if self.served_country(operator.country_iso2) else None

    def operators_of(self, iso2: str) -> list[OperatorEntry]:
        return [
            operator
            for operator in self.operators.values()
            if operator.country_iso2 == iso2 and self.available_operator(operator.id)
        ]

    def products_of(self, operator_id: str) -> tuple[ProductEntry, ...]:
        if self.available_operator(operator_id) is None:
            return ()
        return self.products_by_operator.get(operator_id, ())

    def product(self, product_id: str) -> ProductEntry | None:
        """An enabled product whose operator and country are served now."""
        product = self.products.get(product_id)
        if product is None or self.available_operator(product.operator_id) is None:
            return None
        return product

    def operator_for_number(self, e164_digits: str) -> OperatorEntry | None:
        """The operator whose longest libphonenumber prefix matches, enabled or not."""
        for length in range(min(self.longest_prefix, len(e164_digits)), 0, -1):
            operator_id = self.prefixes.get(e164_digits[:length])
            if operator_id is not None:
                return self.operators.get(operator_id)
        return None

    # ---- operator promotions -------------------------------------------------------------

    def promotion_for(self, product: ProductEntry, now: datetime) -> PromotionEntry | None:
        """The promotion to show on ``product`` at ``now``. Of several, one that names the
        product beats one for the whole operator (it is the more precise news), then the
        one that started last (the newest news)."""
        running = [
            entry
            for entry in self.promotions_by_operator.get(product.operator_id, ())
            if entry.running(now) and entry.applies_to(product.id)
        ]
        if not running:
            return None
        return max(
            running, key=lambda entry: (entry.product_ids is not None, entry.starts_at, entry.id)
        )

    def seconds_until_change(self, now: datetime) -> float | None:
        """Seconds until the next promotion window opens or closes; None if none will."""
        index = bisect_right(self.edges, now)
        return (self.edges[index] - now).total_seconds() if index < len(self.edges) else None

    def _follow_windows(self) -> None:
        """Drop the rendered answers when the clock has crossed a window's edge since they
        were made: the promotions they show may have started or ended."""
        if not self.edges:
            return
        interval = bisect_right(self.edges, clock.now())
        if interval != self._interval:
            self._interval = interval
            self._rendered.clear()
            self._products_json.clear()

    # ---- rendered answers ----------------------------------------------------------------

    def products_json(self, operator_id: str) -> list[dict[str, Any]]:
        """An operator's products as JSON, built once per catalogue version and promotion
        interval (every lookup and product list answers with them). Callers must not
        change the list."""
        self._follow_windows()
        products = self._products_json.get(operator_id)
        if products is None:
            now = clock.now()
            products = []
            for product in self.products_of(operator_id):
                promotion = self.promotion_for(product, now)
                body = product.as_json()
                body["promotion"] = promotion.as_json() if promotion else None
                products.append(body)
            self._products_json[operator_id] = products
        return products

    def rendered(self, key: str, build: Callable[[], Any]) -> RenderedBody:
        self._follow_windows()
        body = self._rendered.get(key)
        if body is None:
            body = self._rendered[key] = RenderedBody.of(build())
        return body


async def read_snapshot(session: AsyncSession) -> CatalogueSnapshot:
    repository = CatalogueRepository(session)
    state = await repository.state()
    countries = {
        row.iso2: CountryEntry(row.iso2, row.name, row.calling_code, row.currency, row.enabled)
        for row in await repository.all_countries()
    }
    operators = {
        row.id: OperatorEntry(
            row.id, row.country_iso2, row.name, row.balance_check_code, row.fx_rate, row.enabled
        )
        for row in await repository.all_operators()
    }
    products: dict[str, list[ProductEntry]] = {}
    for row in await repository.all_products():
        if not row.enabled or row.operator_id not in operators:
            continue
        pricing = PricingRule(operators[row.operator_id].fx_rate, row.fee_rate, row.vat_rate)
        products.setdefault(row.operator_id, []).append(
            ProductEntry(
                row.id,
                row.operator_id,
                row.kind,
                row.currency,
                row.local_value,
                row.local_min,
                row.local_max,
                row.local_step,
                row.price,
                row.price_min,
                row.price_max,
                pricing,
                row.description,
                row.product_type,
            )
        )
    prefixes = dict(await repository.all_prefixes())
    promotions = _promotions(await repository.shown_promotions(clock.now()), operators)
    return CatalogueSnapshot(
        version=state.version if state else 0,
        fx_date=state.fx_date if state else "",
        countries=countries,
        operators=operators,
        products_by_operator={key: tuple(value) for key, value in products.items()},
        products={entry.id: entry for entries in products.values() for entry in entries},
        prefixes=prefixes,
        longest_prefix=max((len(prefix) for prefix in prefixes), default=0),
        promotions_by_operator=promotions,
        edges=window_edges(entry for entries in promotions.values() for entry in entries),
    )


def _promotions(
    rows: Iterable[OperatorPromotion], operators: Mapping[str, OperatorEntry]
) -> dict[str, tuple[PromotionEntry, ...]]:
    found: dict[str, list[PromotionEntry]] = {}
    for row in rows:
        if row.operator_id not in operators:
            continue
        found.setdefault(row.operator_id, []).append(
            PromotionEntry(
                row.id,
                row.operator_id,
                row.title,
                row.description,
                row.bonus_percent,
                row.bonus_text,
                row.denominations,
                frozenset(row.product_ids) if row.product_ids is not None else None,
                row.starts_at,
                row.ends_at,
            )
        )
    return {key: tuple(value) for key, value in found.items()}


class CatalogueCache:
    """Serves the snapshot from memory; checks the version row at most every ``ttl`` s."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        ttl: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._ttl = ttl
        self._monotonic = monotonic
        self._snapshot: CatalogueSnapshot | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> CatalogueSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._monotonic() - self._checked_at < self._ttl:
            return snapshot
        async with self._lock:  # one reader refreshes; the others wait for its result
            if self._snapshot is not None and self._monotonic() - self._checked_at < self._ttl:
                return self._snapshot
            return await self._refresh()

    def invalidate(self) -> None:
        """Forget the snapshot, so the next read sees a change this process just made."""
        self._snapshot = None

    async def _refresh(self) -> CatalogueSnapshot:
        async with self._session_factory() as session:
            version = await CatalogueRepository(session).current_version() or 0
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = await read_snapshot(session)
        self._checked_at = self._monotonic()
        return self._snapshot
