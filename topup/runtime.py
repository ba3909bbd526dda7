"""Everything a running Topup process holds: settings, the database and the providers.

Built once per process (API or CLI) from the settings; the providers are chosen by name,
so swapping the simulator for a real supplier is a setting, not a code change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from topup.catalogue.snapshot import CatalogueCache
from topup.config import Settings, SupplierName
from topup.kit.db import create_engine, create_session_factory
from topup.providers.suppliers.base import NumberLookup
from topup.providers.suppliers.prefix import FallbackLookup, PrefixLookup
from topup.providers.suppliers.simulator import SupplierSimulator


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    catalogue: CatalogueCache
    number_lookup: NumberLookup

    async def close(self) -> None:
        await self.engine.dispose()


def build_runtime(settings: Settings, engine: AsyncEngine | None = None) -> Runtime:
    """Everything the process needs; ``engine`` lets tests share one database engine."""
    engine = engine or create_engine(
        settings.database_url, echo=settings.database_echo, pool_size=settings.database_pool_size
    )
    session_factory = create_session_factory(engine)
    catalogue = CatalogueCache(session_factory, ttl=settings.catalogue_cache_seconds)
    return Runtime(
        settings, engine, session_factory, catalogue, build_number_lookup(settings, catalogue)
    )


def build_number_lookup(settings: Settings, catalogue: CatalogueCache) -> NumberLookup:
    # The supplier knows about ported numbers and postpaid lines; libphonenumber's prefix
    # data only knows which operator a range was first given to, so it is the fallback.
    if settings.supplier is SupplierName.simulator:
        supplier: NumberLookup = SupplierSimulator(
            catalogue, latency_ms=settings.simulator_latency_ms
        )
    else:  # pragma: no cover - only the simulator exists so far; config refuses others
        raise ValueError(f"unknown supplier {settings.supplier}")
    return FallbackLookup(
        supplier, PrefixLookup(catalogue), timeout_seconds=settings.supplier_lookup_timeout_seconds
    )
