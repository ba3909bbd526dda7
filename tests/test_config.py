"""Settings: the TOPUP_ environment prefix, and production refusing sandbox defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from topup.config import (
    DEFAULT_SECRET_KEY,
    Environment,
    PaymentGatewayName,
    Settings,
    SupplierName,
)

STRONG_SECRET = "k" * 48


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TOPUP_ variable or .env file of the machine running the tests may leak in."""
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("TOPUP_")]:
        monkeypatch.delenv(name)


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as raised:
        Settings.model_validate(values)
    return str(raised.value)


def test_production_names_the_sandbox_gateway_and_the_simulator() -> None:
    message = refusal(env="production", secret_key=STRONG_SECRET)

    assert "refusing to start in production" in message
    assert "TOPUP_PAYMENT_GATEWAY is the sandbox gateway" in message
    assert "TOPUP_SUPPLIER is the simulator" in message
    assert "TOPUP_SECRET_KEY" not in message


def test_production_refuses_the_default_secret_key() -> None:
    assert "TOPUP_SECRET_KEY is the default" in refusal(env="production")
    assert "TOPUP_SECRET_KEY is the default" in refusal(
        env="production", secret_key=DEFAULT_SECRET_KEY
    )


def test_production_refuses_a_short_secret_key() -> None:
    assert "shorter than 32 characters" in refusal(env="production", secret_key="s" * 31)


def test_production_is_refused_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPUP_ENV", "production")
    monkeypatch.setenv("TOPUP_SECRET_KEY", STRONG_SECRET)

    with pytest.raises(ValidationError, match="TOPUP_SUPPLIER is the simulator"):
        Settings()


@pytest.mark.parametrize("environment", ["development", "test"])
def test_other_environments_accept_the_defaults(environment: str) -> None:
    settings = Settings(env=Environment(environment))

    assert settings.secret_key == DEFAULT_SECRET_KEY
    assert settings.payment_gateway is PaymentGatewayName.sandbox
    assert settings.supplier is SupplierName.simulator
    assert settings.is_sandbox


def test_development_is_the_default_environment() -> None:
    settings = Settings()

    assert settings.env is Environment.development
    assert settings.database_url == "sqlite+aiosqlite:///./topup.db"
    assert settings.port == 8000


def test_values_come_from_topup_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPUP_ENV", "test")
    monkeypatch.setenv("TOPUP_PORT", "9123")
    monkeypatch.setenv("TOPUP_DATABASE_URL", "postgresql+asyncpg://topup@db/topup")
    monkeypatch.setenv("TOPUP_CATALOGUE_CACHE_SECONDS", "2.5")

    settings = Settings()

    assert settings.env is Environment.test
    assert settings.port == 9123
    assert settings.database_url == "postgresql+asyncpg://topup@db/topup"
    assert settings.catalogue_cache_seconds == 2.5


def test_variables_without_the_prefix_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://elsewhere/db")

    settings = Settings()

    assert settings.port == 8000
    assert settings.database_url.startswith("sqlite")


def test_an_env_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TOPUP_PORT=8123\nTOPUP_LOG_JSON=false\n", encoding="utf-8")

    settings = Settings()

    assert settings.port == 8123
    assert settings.log_json is False


def test_an_out_of_range_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPUP_PORT", "70000")

    with pytest.raises(ValidationError, match="port"):
        Settings()


def test_a_request_head_has_ten_seconds_to_arrive_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().head_timeout_seconds == 10.0
    monkeypatch.setenv("TOPUP_HEAD_TIMEOUT_SECONDS", "2.5")
    assert Settings().head_timeout_seconds == 2.5
    monkeypatch.setenv("TOPUP_HEAD_TIMEOUT_SECONDS", "0")
    with pytest.raises(ValidationError, match="head_timeout_seconds"):
        Settings()


def test_production_refuses_to_keep_email_and_sms_in_the_outbox() -> None:
    message = refusal(env="production", secret_key=STRONG_SECRET)

    assert "TOPUP_SMTP_URL is unset" in message
    assert "TOPUP_SMS_URL is unset" in message
    configured = refusal(
        env="production",
        secret_key=STRONG_SECRET,
        smtp_url="smtp://relay.example:587",
        sms_url="https://AC1:token@api.twilio.com/2010-04-01/Accounts/AC1",
    )
    assert "TOPUP_SMTP_URL" not in configured
    assert "TOPUP_SMS_URL" not in configured


@pytest.mark.parametrize(
    ("name", "url", "reason"),
    [
        ("smtp_url", "http://relay.example", "must look like smtp://"),
        ("smtp_url", "smtp://relay.example?starttls=maybe", "starttls"),
        ("sms_url", "ftp://sms.example", "must be an http(s) URL"),
    ],
)
def test_an_unusable_provider_url_is_refused_at_start_up(name: str, url: str, reason: str) -> None:
    assert reason in refusal(**{name: url})


def test_an_empty_provider_url_means_the_outbox_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPUP_SMTP_URL", "")
    monkeypatch.setenv("TOPUP_SMS_URL", "")

    settings = Settings()

    assert (settings.smtp_url, settings.sms_url) == (None, None)


def test_a_reloadly_supplier_needs_its_credentials_in_any_environment() -> None:
    message = refusal(supplier="reloadly", reloadly_client_id="client")

    assert "TOPUP_RELOADLY_CLIENT_ID and TOPUP_RELOADLY_CLIENT_SECRET" in message


def test_reloadly_in_production_needs_the_live_api_and_an_operator_map() -> None:
    production_reloadly = {
        "env": "production",
        "secret_key": STRONG_SECRET,
        "supplier": "reloadly",
        "reloadly_client_id": "client",
        "reloadly_client_secret": "s" * 40,
    }
    message = refusal(**production_reloadly)

    assert "TOPUP_SUPPLIER is the simulator" not in message
    assert "TOPUP_RELOADLY_API_URL is Reloadly's sandbox" in message
    assert "TOPUP_RELOADLY_OPERATOR_IDS maps no operator" in message
    live = {"reloadly_api_url": "https://topups.reloadly.com", "reloadly_operator_ids": {"a": 1}}
    live_message = refusal(**production_reloadly, **live)
    assert "RELOADLY" not in live_message


def test_the_reloadly_secrets_never_show_in_the_settings() -> None:
    settings = Settings(
        supplier="reloadly",
        reloadly_client_id="client",
        reloadly_client_secret="client-secret-value",
        reloadly_webhook_secret="webhook-secret-value",
    )

    assert "secret-value" not in repr(settings)
    assert "secret-value" not in str(settings.model_dump())
