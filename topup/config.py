"""Settings read from the environment (prefix ``TOPUP_``) and an optional ``.env`` file.

Providers are chosen by name so the embedded default needs no outside service at all:
sandbox card gateway, supplier simulator and console senders. ``TOPUP_ENV=production``
refuses to start with any of those, or with the default secret key, because a production
node that silently fakes payments or top-ups would be far worse than one that does not start.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Self

import holidays
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from topup.providers.email.smtp import SmtpServer
from topup.providers.sms.http import split_credentials

DEFAULT_SECRET_KEY = "topup-development-secret-change-me"  # noqa: S105 - refused in production
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./topup.db"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class PaymentGatewayName(StrEnum):
    sandbox = "sandbox"


class SupplierName(StrEnum):
    simulator = "simulator"
    reloadly = "reloadly"


RELOADLY_SANDBOX_URL = "https://topups-sandbox.reloadly.com"
SANDBOX_PROVIDERS = {PaymentGatewayName.sandbox.value, SupplierName.simulator.value}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOPUP_", env_file=".env", extra="ignore")

    env: Environment = Environment.development
    secret_key: str = DEFAULT_SECRET_KEY
    database_url: str = DEFAULT_DATABASE_URL
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1)
    redis_url: str | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_json: bool = True

    payment_gateway: PaymentGatewayName = PaymentGatewayName.sandbox
    supplier: SupplierName = SupplierName.simulator
    supplier_lookup_timeout_seconds: float = Field(default=2.0, gt=0)
    simulator_latency_ms: int = Field(default=0, ge=0)  # each top-up call: send, status
    simulator_lookup_latency_ms: int = Field(default=0, ge=0)  # each number lookup
    # Reloadly's Airtime API (TOPUP_SUPPLIER=reloadly). The audience of its OAuth token is
    # the API's own base URL unless set apart; operators are mapped from our catalogue ids
    # to Reloadly's numeric ones (JSON: {"ng-mtn": 341}).
    reloadly_api_url: str = RELOADLY_SANDBOX_URL
    reloadly_auth_url: str = "https://auth.reloadly.com"
    reloadly_audience: str | None = None
    reloadly_client_id: str | None = None
    reloadly_client_secret: SecretStr | None = None
    # The webhook signature secret from Reloadly's dashboard (not the client secret);
    # unset, every callback is refused and the status poll alone decides.
    reloadly_webhook_secret: SecretStr | None = None
    reloadly_timeout_seconds: float = Field(default=10.0, gt=0)
    reloadly_operator_ids: dict[str, int] = Field(default_factory=dict)

    # How long a request body may take to arrive whole before it is refused with 408 (the
    # server itself never gives up waiting for a body that was announced and not sent).
    body_timeout_seconds: float = Field(default=20.0, gt=0)
    # How long a request's head (request line and headers) may take to arrive whole, from
    # the connection's opening or the end of the previous response, before the connection
    # is closed (uvicorn waits for ever on a head that trickles in, "slowloris").
    head_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long a process serves the catalogue from memory before it checks the database
    # for a newer version; a change made through this process shows at once.
    catalogue_cache_seconds: float = Field(default=30.0, ge=0)
    # A wallet funding takes at least the minimum and at most the maximum (EUR cents) in
    # one card payment: below it card fees eat the money, above it a stolen card would do
    # too much harm before anyone noticed.
    wallet_funding_min_cents: int = Field(default=500, ge=1)
    wallet_funding_max_cents: int = Field(default=25_000, ge=1)
    # Refund deadlines count the business days of this country (ISO 3166 alpha-2, and an
    # optional subdivision such as "BY" for Bavaria), as the `holidays` library knows them.
    business_country: str = Field(default="FR", pattern=r"^[A-Z]{2}$")
    business_subdivision: str | None = None
    # Run the order worker inside the API process (the embedded default needs one command).
    run_worker: bool = True

    # Where customers reach the service; links in emails start with it.
    public_url: str = "http://127.0.0.1:8000"
    session_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    # argon2id cost: argon2-cffi's defaults are RFC 9106's low-memory profile. Tests lower
    # them to keep the suite fast; production should not.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    # Email and SMS. Unset, every message stays in the outbox (readable in the sandbox at
    # GET /v1/sandbox/messages); set, the worker also sends it through that provider.
    smtp_url: str | None = None  # smtp://user:pass@host:587[?starttls=required|off], smtps://
    smtp_ca_file: str | None = None  # a private relay's certificate authority (PEM)
    mail_from: str = "Topup <receipts@topup.localhost>"
    sms_url: str | None = None  # Twilio-shaped: https://SID:TOKEN@host/2010-04-01/Accounts/SID
    sms_from: str = "Topup"  # a number or an alphanumeric sender id

    # Loaded by `topup serve` into an empty embedded database.
    demo_catalogue_path: str | None = None

    @field_validator("smtp_url")
    @classmethod
    def smtp_url_is_usable(cls, url: str | None) -> str | None:
        if url:
            SmtpServer.from_url(url)  # says what is wrong with it, at start-up
        return url or None

    @field_validator("sms_url")
    @classmethod
    def sms_url_is_usable(cls, url: str | None) -> str | None:
        if url:
            split_credentials(url)
        return url or None

    @property
    def is_sandbox(self) -> bool:
        return self.env is not Environment.production

    @model_validator(mode="after")
    def wallet_bounds_in_order(self) -> Self:
        if self.wallet_funding_min_cents > self.wallet_funding_max_cents:
            raise ValueError("TOPUP_WALLET_FUNDING_MIN_CENTS is above the maximum")
        return self

    @model_validator(mode="after")
    def business_calendar_known(self) -> Self:
        try:
            holidays.country_holidays(self.business_country, subdiv=self.business_subdivision)
        except NotImplementedError as unknown:
            raise ValueError(f"no holiday calendar for {self.business_country}") from unknown
        return self

    @model_validator(mode="after")
    def reloadly_has_credentials(self) -> Self:
        if self.supplier is SupplierName.reloadly and not (
            self.reloadly_client_id and self.reloadly_client_secret
        ):
            raise ValueError(
                "TOPUP_SUPPLIER=reloadly needs TOPUP_RELOADLY_CLIENT_ID and "
                "TOPUP_RELOADLY_CLIENT_SECRET"
            )
        return self

    @model_validator(mode="after")
    def refuse_sandbox_in_production(self) -> Self:
        if self.env is not Environment.production:
            return self
        problems = []
        if self.payment_gateway.value in SANDBOX_PROVIDERS:
            problems.append("TOPUP_PAYMENT_GATEWAY is the sandbox gateway")
        if self.supplier.value in SANDBOX_PROVIDERS:
            problems.append("TOPUP_SUPPLIER is the simulator")
        if self.supplier is SupplierName.reloadly:
            if self.reloadly_api_url.rstrip("/") == RELOADLY_SANDBOX_URL:
                problems.append("TOPUP_RELOADLY_API_URL is Reloadly's sandbox")
            if not self.reloadly_operator_ids:
                problems.append("TOPUP_RELOADLY_OPERATOR_IDS maps no operator")
        if not self.smtp_url:
            problems.append("TOPUP_SMTP_URL is unset, so no email would leave the outbox")
        if not self.sms_url:
            problems.append("TOPUP_SMS_URL is unset, so no SMS would leave the outbox")
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("TOPUP_SECRET_KEY is the default or shorter than 32 characters")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
