"""Everything a running Topup process holds: settings, the database and the providers.

Built once per process (API or CLI) from the settings; the providers are chosen by name,
so swapping the simulator for a real supplier is a setting, not a code change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from topup.accounts.policy import AccountPolicy
from topup.accounts.security import Passwords
from topup.catalogue.promotions import PromotionSyncDeps
from topup.catalogue.snapshot import CatalogueCache
from topup.config import PaymentGatewayName, Settings, SupplierName
from topup.kit.db import create_engine, create_session_factory
from topup.kit.detached import Detached
from topup.kit.ratelimit import RateLimiter, create_storage
from topup.notifications.tasks import NotificationDeps
from topup.orders.lifecycle import OrderDeps
from topup.pins.service import pin_sealer
from topup.providers.email.base import EmailSender
from topup.providers.email.console import ConsoleEmailSender
from topup.providers.email.smtp import SmtpEmailSender, SmtpServer
from topup.providers.payments.base import PaymentGateway
from topup.providers.payments.sandbox import SandboxGateway
from topup.providers.sms.base import SmsSender
from topup.providers.sms.console import ConsoleSmsSender
from topup.providers.sms.http import HttpSmsSender
from topup.providers.suppliers.base import NumberLookup, PromotionSource, TopupSupplier
from topup.providers.suppliers.prefix import FallbackLookup, PrefixLookup
from topup.providers.suppliers.reloadly import ReloadlyCredentials, ReloadlySupplier
from topup.providers.suppliers.simulator import SupplierSimulator
from topup.refunds.policy import BusinessCalendar, business_calendar
from topup.refunds.service import RefundDeps
from topup.wallet.service import FundingBounds, FundingDeps


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    catalogue: CatalogueCache
    number_lookup: NumberLookup
    limiter: RateLimiter
    accounts: AccountPolicy
    payment_gateway: PaymentGateway
    supplier: TopupSupplier
    email_sender: EmailSender
    sms_sender: SmsSender
    # Who publishes the operators' promotions: the supplier itself (both adapters do).
    promotion_source: PromotionSource
    detached: Detached = field(default_factory=Detached)

    def order_deps(self) -> OrderDeps:
        return OrderDeps(
            self.session_factory,
            self.payment_gateway,
            self.supplier,
            self.settings.payment_gateway.value,
            self.settings.supplier.value,
            pin_sealer(self.settings.secret_key),
        )

    def funding_deps(self) -> FundingDeps:
        return FundingDeps(
            self.session_factory, self.payment_gateway, self.settings.payment_gateway.value
        )

    def funding_bounds(self) -> FundingBounds:
        return FundingBounds(
            self.settings.wallet_funding_min_cents, self.settings.wallet_funding_max_cents
        )

    def business_calendar(self) -> BusinessCalendar:
        return business_calendar(self.settings.business_country, self.settings.business_subdivision)

    def refund_deps(self) -> RefundDeps:
        return RefundDeps(
            self.session_factory,
            self.payment_gateway,
            self.supplier,
            self.settings.payment_gateway.value,
            self.business_calendar(),
        )

    def promotion_sync_deps(self) -> PromotionSyncDeps:
        return PromotionSyncDeps(
            self.session_factory,
            self.promotion_source,
            self.settings.supplier.value,
            self.catalogue.invalidate,
        )

    def notification_deps(self) -> NotificationDeps:
        return NotificationDeps(self.session_factory, self.email_sender, self.sms_sender)

    async def close(self) -> None:
        await self.detached.stop()
        if isinstance(self.sms_sender, HttpSmsSender):
            await self.sms_sender.close()
        if isinstance(self.supplier, ReloadlySupplier):
            await self.supplier.close()
        await self.engine.dispose()


def build_runtime(settings: Settings, engine: AsyncEngine | None = None) -> Runtime:
    """Everything the process needs; ``engine`` lets tests share one database engine."""
    engine = engine or create_engine(
        settings.database_url, echo=settings.database_echo, pool_size=settings.database_pool_size
    )
    session_factory = create_session_factory(engine)
    catalogue = CatalogueCache(session_factory, ttl=settings.catalogue_cache_seconds)
    limiter = RateLimiter(create_storage(settings.redis_url))
    supplier = build_supplier(settings, catalogue, session_factory)
    return Runtime(
        settings,
        engine,
        session_factory,
        catalogue,
        build_number_lookup(settings, catalogue, supplier),
        limiter,
        build_account_policy(settings, limiter),
        build_payment_gateway(settings, session_factory),
        supplier,
        build_email_sender(settings),
        build_sms_sender(settings),
        supplier,
    )


def build_email_sender(settings: Settings) -> EmailSender:
    if settings.smtp_url:
        return SmtpEmailSender(
            SmtpServer.from_url(settings.smtp_url),
            sender=settings.mail_from,
            ca_file=settings.smtp_ca_file,
        )
    return ConsoleEmailSender()


def build_sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_url:
        return HttpSmsSender(settings.sms_url, sender=settings.sms_from)
    return ConsoleSmsSender()


def build_payment_gateway(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> PaymentGateway:
    if settings.payment_gateway is PaymentGatewayName.sandbox:
        return SandboxGateway(session_factory)
    raise ValueError(f"unknown payment gateway {settings.payment_gateway}")  # pragma: no cover


def build_account_policy(settings: Settings, limiter: RateLimiter) -> AccountPolicy:
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    return AccountPolicy(
        secret_key=settings.secret_key,
        passwords=passwords,
        limiter=limiter,
        session_ttl=timedelta(seconds=settings.session_ttl_seconds),
        public_url=settings.public_url,
    )


def build_supplier(
    settings: Settings,
    catalogue: CatalogueCache,
    session_factory: async_sessionmaker[AsyncSession],
) -> SupplierSimulator | ReloadlySupplier:
    if settings.supplier is SupplierName.simulator:
        return SupplierSimulator(
            catalogue,
            session_factory,
            latency_ms=settings.simulator_latency_ms,
            lookup_latency_ms=settings.simulator_lookup_latency_ms,
            secret_key=settings.secret_key,
        )
    if settings.supplier is SupplierName.reloadly:
        return build_reloadly(settings)
    raise ValueError(f"unknown supplier {settings.supplier}")  # pragma: no cover


def build_reloadly(settings: Settings) -> ReloadlySupplier:
    # Settings refuse a reloadly supplier without its credentials.
    assert settings.reloadly_client_id is not None
    assert settings.reloadly_client_secret is not None
    api_url = settings.reloadly_api_url.rstrip("/")
    credentials = ReloadlyCredentials(
        client_id=settings.reloadly_client_id,
        client_secret=settings.reloadly_client_secret,
        auth_url=settings.reloadly_auth_url.rstrip("/"),
        api_url=api_url,
        audience=settings.reloadly_audience or api_url,
    )
    return ReloadlySupplier(
        credentials,
        operator_ids=settings.reloadly_operator_ids,
        timeout_seconds=settings.reloadly_timeout_seconds,
    )


def build_number_lookup(
    settings: Settings, catalogue: CatalogueCache, supplier: object
) -> NumberLookup:
    if not isinstance(supplier, SupplierSimulator):
        # The Reloadly adapter does not implement its number lookup yet: the prefixes only.
        return PrefixLookup(catalogue)
    # The supplier knows about ported numbers and postpaid lines; libphonenumber's prefix
    # data only knows which operator a range was first given to, so it is the fallback.
    return FallbackLookup(
        supplier, PrefixLookup(catalogue), timeout_seconds=settings.supplier_lookup_timeout_seconds
    )
