"""Settings, read from the environment (and ``.env``). Names follow the seeds (DESIGN §4)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # --- storage ---------------------------------------------------------------------------
    database_url: str | None = Field(default=None, validation_alias=_alias("DATABASE_URL"))
    data_dir: Path = Field(default=Path(".billpay"), validation_alias=_alias("BILLPAY_DATA_DIR"))
    db_pool_size: int = Field(default=20, validation_alias=_alias("BILLPAY_DB_POOL_SIZE"))

    # --- HTTP API ----------------------------------------------------------------------------
    api_host: str = Field(default="127.0.0.1", validation_alias=_alias("BILLPAY_API_HOST"))
    api_port: int = Field(default=8000, validation_alias=_alias("BILLPAY_API_PORT"))
    sandbox_port: int = Field(default=8100, validation_alias=_alias("BILLPAY_SANDBOX_PORT"))
    log_level: str = Field(default="INFO", validation_alias=_alias("BILLPAY_LOG_LEVEL"))

    # --- fees (kobo per bill type; the seed's ₦5,030 for a ₦5,000 electricity bill) ----------
    fee_airtime_kobo: int = Field(default=0, validation_alias=_alias("BILLPAY_FEE_AIRTIME_KOBO"))
    fee_data_kobo: int = Field(default=0, validation_alias=_alias("BILLPAY_FEE_DATA_KOBO"))
    fee_cable_tv_kobo: int = Field(default=0, validation_alias=_alias("BILLPAY_FEE_CABLE_TV_KOBO"))
    fee_electricity_kobo: int = Field(
        default=3_000, validation_alias=_alias("BILLPAY_FEE_ELECTRICITY_KOBO")
    )
    fee_betting_kobo: int = Field(default=0, validation_alias=_alias("BILLPAY_FEE_BETTING_KOBO"))
    max_payment_kobo: int = Field(
        default=100_000_000, validation_alias=_alias("BILLPAY_MAX_PAYMENT_KOBO")
    )

    # --- worker (seed names) -----------------------------------------------------------------
    poll_interval_seconds: float = Field(
        default=10.0, validation_alias=_alias("BILL_PROCESSOR_POLL_INTERVAL_SECONDS")
    )
    batch_size: int = Field(default=50, validation_alias=_alias("BILL_PROCESSOR_BATCH_SIZE"))
    max_retries: int = Field(default=3, validation_alias=_alias("BILL_PROCESSOR_MAX_RETRIES"))
    retry_schedule_seconds: list[float] = Field(
        default=[10.0, 60.0, 300.0], validation_alias=_alias("BILL_PROCESSOR_RETRY_SCHEDULE")
    )
    payment_deadline_seconds: float = Field(
        default=24 * 3600.0, validation_alias=_alias("BILL_PROCESSOR_DEADLINE_SECONDS")
    )
    lease_seconds: float = Field(
        default=60.0, validation_alias=_alias("BILL_PROCESSOR_LEASE_SECONDS")
    )
    worker_concurrency: int = Field(
        default=64, validation_alias=_alias("BILL_PROCESSOR_CONCURRENCY")
    )
    periodic_interval_seconds: float = Field(
        default=5.0, validation_alias=_alias("BILL_PROCESSOR_PERIODIC_SECONDS")
    )
    # Deliveries share the worker's CPU with payments: a few at a time keeps the payment
    # path first, and the outbox catches up when the load drops.
    outbox_concurrency: int = Field(
        default=8, validation_alias=_alias("BILLPAY_OUTBOX_CONCURRENCY")
    )
    breaker_consecutive_failures: int = Field(
        default=5, validation_alias=_alias("BILLPAY_BREAKER_CONSECUTIVE_FAILURES")
    )
    breaker_failure_rate: float = Field(
        default=0.5, validation_alias=_alias("BILLPAY_BREAKER_FAILURE_RATE")
    )
    breaker_cooldown_seconds: float = Field(
        default=60.0, validation_alias=_alias("BILLPAY_BREAKER_COOLDOWN_SECONDS")
    )
    catalog_resync_seconds: float = Field(
        default=3600.0, validation_alias=_alias("BILLPAY_CATALOG_RESYNC_SECONDS")
    )
    provider_timeout_seconds: float = Field(
        default=30.0, validation_alias=_alias("PROVIDER_TIMEOUT_SECONDS")
    )
    # Connections each provider's HTTP client keeps open (and alive) at most.
    provider_max_connections: int = Field(
        default=32, ge=1, validation_alias=_alias("PROVIDER_MAX_CONNECTIONS")
    )

    # --- VTpass ------------------------------------------------------------------------------
    vtpass_base_url: str | None = Field(default=None, validation_alias=_alias("VTPASS_BASE_URL"))
    vtpass_api_key: str | None = Field(default=None, validation_alias=_alias("VTPASS_API_KEY"))
    vtpass_secret_key: str | None = Field(
        default=None, validation_alias=_alias("VTPASS_SECRET_KEY")
    )
    vtpass_public_key: str | None = Field(
        default=None, validation_alias=_alias("VTPASS_PUBLIC_KEY")
    )
    vtpass_webhook_token: str | None = Field(
        default=None, validation_alias=_alias("VTPASS_WEBHOOK_TOKEN")
    )

    # --- Flutterwave -------------------------------------------------------------------------
    flutterwave_base_url: str | None = Field(
        default=None, validation_alias=_alias("FLUTTERWAVE_BASE_URL")
    )
    flutterwave_secret_key: str | None = Field(
        default=None, validation_alias=_alias("FLUTTERWAVE_SECRET_KEY")
    )
    flutterwave_secret_hash: str | None = Field(
        default=None, validation_alias=_alias("FLUTTERWAVE_SECRET_HASH")
    )
    flutterwave_use_legacy_bills: bool = Field(
        default=False, validation_alias=_alias("FLUTTERWAVE_USE_LEGACY_BILLS")
    )

    # --- Interswitch -------------------------------------------------------------------------
    interswitch_base_url: str | None = Field(
        default=None, validation_alias=_alias("INTERSWITCH_BASE_URL")
    )
    interswitch_passport_url: str | None = Field(
        default=None, validation_alias=_alias("INTERSWITCH_PASSPORT_URL")
    )
    interswitch_client_id: str | None = Field(
        default=None, validation_alias=_alias("INTERSWITCH_CLIENT_ID")
    )
    interswitch_client_secret: str | None = Field(
        default=None, validation_alias=_alias("INTERSWITCH_CLIENT_SECRET")
    )
    interswitch_terminal_id: str | None = Field(
        default=None, validation_alias=_alias("INTERSWITCH_TERMINAL_ID")
    )
    interswitch_request_prefix: str = Field(
        default="1453", validation_alias=_alias("INTERSWITCH_REQUEST_PREFIX")
    )

    # --- Paystack ----------------------------------------------------------------------------
    paystack_base_url: str | None = Field(
        default=None, validation_alias=_alias("PAYSTACK_BASE_URL")
    )
    paystack_secret_key: str | None = Field(
        default=None, validation_alias=_alias("PAYSTACK_SECRET_KEY", "PAYSTACK_API_KEY")
    )

    # --- Stellar / cNGN ----------------------------------------------------------------------
    stellar_horizon_url: str | None = Field(
        default=None, validation_alias=_alias("STELLAR_HORIZON_URL")
    )
    stellar_network_passphrase: str = Field(
        default="Test SDF Network ; September 2015",
        validation_alias=_alias("STELLAR_NETWORK_PASSPHRASE"),
    )
    stellar_system_secret: str | None = Field(
        default=None, validation_alias=_alias("STELLAR_SYSTEM_SECRET")
    )
    cngn_asset_code: str = Field(default="cNGN", validation_alias=_alias("CNGN_ASSET_CODE"))
    cngn_asset_issuer: str | None = Field(
        default=None, validation_alias=_alias("CNGN_ASSET_ISSUER")
    )
    stellar_payment_expiry_seconds: int = Field(
        default=1800, validation_alias=_alias("STELLAR_PAYMENT_EXPIRY_SECONDS")
    )

    def fee_kobo_for(self, bill_type: str) -> int:
        fee: int = getattr(self, f"fee_{bill_type}_kobo")
        return fee


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
