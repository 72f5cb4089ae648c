"""Settings, read from the environment (and ``.env``). Names follow the seeds (DESIGN §4)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, PositiveInt, SecretStr, model_validator
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

    # --- books: one advertised price per plan (issue #12) -----------------------------------
    # A fixed-price plan is advertised at the operator's list price for its slug when one is
    # set (JSON, kobo: {"mtn-data-10gb-30d": 480000}), else at the lowest price any provider
    # sells it for; applied at the next catalog sync. A provider whose own price is above
    # the advertised one is routed to (and the loss booked) only with loss routes allowed.
    plan_prices: dict[str, PositiveInt] = Field(
        default_factory=dict, validation_alias=_alias("BILLPAY_PLAN_PRICES")
    )
    allow_loss_routes: bool = Field(
        default=False, validation_alias=_alias("BILLPAY_ALLOW_LOSS_ROUTES")
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
    # Messages in flight (and so the dispatcher's batch and its webhook connections). A
    # payment's messages go one after another (each waits for the one before it), and the
    # dispatcher shares the worker's event loop: at 32 the outbox drained 30 % behind the
    # payments (149 vs 214/s), at 128 with them (172 vs 174/s) (bench.throughput).
    outbox_concurrency: int = Field(
        default=128, validation_alias=_alias("BILLPAY_OUTBOX_CONCURRENCY")
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
    # --- routing by recent health (issue #13) ----------------------------------------------
    # Providers are ranked per biller (per network for airtime/data) by their success rate
    # and latency over this window, once they have this many attempts in it.
    routing_window_minutes: float = Field(
        default=15.0, gt=0, validation_alias=_alias("BILLPAY_ROUTING_WINDOW_MINUTES")
    )
    routing_min_attempts: int = Field(
        default=5, ge=1, validation_alias=_alias("BILLPAY_ROUTING_MIN_ATTEMPTS")
    )
    # The base order before ranking (first = primary); empty: the catalog's priority.
    routing_base_order: list[str] = Field(
        default=[], validation_alias=_alias("BILLPAY_ROUTING_BASE_ORDER")
    )
    # How stale a worker's view of the figures and operator switches may be: a provider
    # switched off gets no new purchase after this long.
    routing_refresh_seconds: float = Field(
        default=2.0, gt=0, validation_alias=_alias("BILLPAY_ROUTING_REFRESH_SECONDS")
    )
    # A payment no provider may take now (breakers open, providers switched off) waits:
    # it is looked at again after a delay growing with its wait, within these bounds.
    routing_wait_min_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_alias("BILLPAY_ROUTING_WAIT_MIN_SECONDS")
    )
    routing_wait_max_seconds: float = Field(
        default=120.0, gt=0, validation_alias=_alias("BILLPAY_ROUTING_WAIT_MAX_SECONDS")
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
    # The seed names the same secret key FLUTTERWAVE_API_KEY too.
    flutterwave_secret_key: str | None = Field(
        default=None, validation_alias=_alias("FLUTTERWAVE_SECRET_KEY", "FLUTTERWAVE_API_KEY")
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

    # --- robustness: request limits, slow clients, database outages (issue #14) -------------
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, validation_alias=_alias("BILLPAY_MAX_BODY_BYTES")
    )
    max_webhook_body_bytes: int = Field(
        default=256 * 1024, ge=1024, validation_alias=_alias("BILLPAY_MAX_WEBHOOK_BODY_BYTES")
    )
    max_json_depth: int = Field(
        default=32, ge=2, le=500, validation_alias=_alias("BILLPAY_MAX_JSON_DEPTH")
    )
    # A body (or a request line and headers) not in within this is a slow client: cut off.
    body_read_timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias=_alias("BILLPAY_BODY_READ_TIMEOUT_SECONDS")
    )
    header_read_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias=_alias("BILLPAY_HEADER_READ_TIMEOUT_SECONDS")
    )
    keep_alive_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_alias("BILLPAY_KEEP_ALIVE_TIMEOUT_SECONDS")
    )
    # How long a unit of work waits for a free pooled connection, and to open one.
    db_pool_timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias=_alias("BILLPAY_DB_POOL_TIMEOUT_SECONDS")
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_alias("BILLPAY_DB_CONNECT_TIMEOUT_SECONDS")
    )

    # --- security: outbound webhook destinations (issue #14) ---------------------------------
    # Off (production): a client's webhook URL must be https and resolve to public addresses
    # only, at registration and at every connection. On (``billpay up``, local development):
    # plain http and loopback/private receivers are allowed.
    allow_private_webhook_urls: bool = Field(
        default=False, validation_alias=_alias("BILLPAY_ALLOW_PRIVATE_WEBHOOK_URLS")
    )

    # --- reconciliation (issue #12) ---------------------------------------------------------
    # How often the worker reconciles (0: never); the first run waits one interval.
    reconcile_interval_seconds: float = Field(
        default=3600.0, ge=0, validation_alias=_alias("BILLPAY_RECONCILE_INTERVAL_SECONDS")
    )
    # Attempts and Horizon payments this recent are compared with the other side.
    reconcile_window_hours: float = Field(
        default=24.0, gt=0, validation_alias=_alias("BILLPAY_RECONCILE_WINDOW_HOURS")
    )
    # Provider lookups per second at most (read-only requeries), and per run at most.
    reconcile_requeries_per_second: float = Field(
        default=5.0, gt=0, validation_alias=_alias("BILLPAY_RECONCILE_REQUERIES_PER_SECOND")
    )
    reconcile_max_requeries: int = Field(
        default=1000, ge=0, validation_alias=_alias("BILLPAY_RECONCILE_MAX_REQUERIES")
    )
    # Horizon payments younger than this may not have reached the watcher yet.
    reconcile_stellar_grace_seconds: float = Field(
        default=120.0, ge=0, validation_alias=_alias("BILLPAY_RECONCILE_STELLAR_GRACE_SECONDS")
    )

    # --- unknowns that settle themselves, reversal watch (issue #11) -------------------------
    # A requery saying "no record of this reference" resends the purchase under the same
    # reference once its last send is this old (the provider may still be processing it).
    resend_grace_seconds: float = Field(
        default=180.0, ge=0, validation_alias=_alias("BILLPAY_RESEND_GRACE_SECONDS")
    )
    # Resends per reference at most; after them the reference is requeried until the deadline.
    max_resends: int = Field(default=2, ge=0, validation_alias=_alias("BILLPAY_MAX_RESENDS"))
    # Paid payments of providers that document reversals are requeried this long after
    # delivery (0: never), each at most once per interval, a batch per worker beat.
    reversal_watch_hours: float = Field(
        default=48.0, ge=0, validation_alias=_alias("BILLPAY_REVERSAL_WATCH_HOURS")
    )
    reversal_watch_interval_seconds: float = Field(
        default=3600.0, gt=0, validation_alias=_alias("BILLPAY_REVERSAL_WATCH_INTERVAL_SECONDS")
    )
    reversal_watch_batch: int = Field(
        default=10, ge=1, validation_alias=_alias("BILLPAY_REVERSAL_WATCH_BATCH")
    )

    # --- test mode: bp_test_ keys (issue #15) -------------------------------------------------
    # The provider simulators (``billpay sandbox``) that test-mode payments are sent to, whatever
    # the live providers are; unset, test-mode payments have no provider (``billpay up`` sets
    # it to its own simulators).
    test_mode_sandbox_url: str | None = Field(
        default=None, validation_alias=_alias("BILLPAY_TEST_MODE_SANDBOX_URL")
    )

    # --- alerts to operators (issue #13) ------------------------------------------------------
    # How often the worker evaluates the alert rules (0: never). Each rule raises one
    # incident while its condition lasts and resolves it when it clears.
    alert_interval_seconds: float = Field(
        default=60.0, ge=0, validation_alias=_alias("BILLPAY_ALERT_INTERVAL_SECONDS")
    )
    # Provider failure and unknown (pending/processing) rates are measured over this window,
    # and only once a provider has at least this many attempts in it.
    alert_window_minutes: float = Field(
        default=15.0, gt=0, validation_alias=_alias("BILLPAY_ALERT_WINDOW_MINUTES")
    )
    alert_min_attempts: int = Field(
        default=10, ge=1, validation_alias=_alias("BILLPAY_ALERT_MIN_ATTEMPTS")
    )
    alert_failure_rate: float = Field(
        default=0.2, gt=0, le=1, validation_alias=_alias("BILLPAY_ALERT_FAILURE_RATE")
    )
    alert_unknown_rate: float = Field(
        default=0.3, gt=0, le=1, validation_alias=_alias("BILLPAY_ALERT_UNKNOWN_RATE")
    )
    # A payment not yet final (and not waiting for its funds) this long after creation.
    alert_stuck_minutes: float = Field(
        default=30.0, gt=0, validation_alias=_alias("BILLPAY_ALERT_STUCK_MINUTES")
    )
    # Merchant webhooks not yet delivered: this many pending, or the oldest this old.
    alert_webhook_backlog_count: int = Field(
        default=100, ge=1, validation_alias=_alias("BILLPAY_ALERT_WEBHOOK_BACKLOG_COUNT")
    )
    alert_webhook_backlog_minutes: float = Field(
        default=15.0, gt=0, validation_alias=_alias("BILLPAY_ALERT_WEBHOOK_BACKLOG_MINUTES")
    )
    # A provider's prepaid float (where it documents a balance call) below this (0: off).
    alert_float_min_kobo: int = Field(
        default=5_000_000, ge=0, validation_alias=_alias("BILLPAY_ALERT_FLOAT_MIN_KOBO")
    )
    # Where alerts go: a webhook signed with the secret (Billpay-Signature, as client webhooks
    # are), and an email through the SMTP relay payer notices use. Unset: dashboard and CLI only.
    alert_webhook_url: str | None = Field(
        default=None, validation_alias=_alias("BILLPAY_ALERT_WEBHOOK_URL")
    )
    alert_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=_alias("BILLPAY_ALERT_WEBHOOK_SECRET")
    )
    alert_email: str | None = Field(default=None, validation_alias=_alias("BILLPAY_ALERT_EMAIL"))

    @model_validator(mode="after")
    def _signed_alert_webhooks(self) -> Settings:
        url = self.alert_webhook_url
        if url and not self.alert_webhook_secret:
            raise ValueError(
                "BILLPAY_ALERT_WEBHOOK_URL needs BILLPAY_ALERT_WEBHOOK_SECRET: "
                "alert webhooks are always signed"
            )
        # Like a client's: https only (every connection is also checked for a public address).
        if url and not url.startswith("https://") and not self.allow_private_webhook_urls:
            raise ValueError("BILLPAY_ALERT_WEBHOOK_URL must be an https:// URL")
        return self

    def fee_kobo_for(self, bill_type: str) -> int:
        fee: int = getattr(self, f"fee_{bill_type}_kobo")
        return fee


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


# --- providers: which are configured, and partial configurations refused (issue #11) -------
# Each provider's settings (field names): all of ``required`` set → it is routed to; none set
# → it is not (and ``billpay up`` points it at the simulators); some set → a startup error
# naming what is missing. ``other`` are its settings with defaults or that are optional.
@dataclass(frozen=True)
class ProviderFields:
    required: tuple[str, ...]
    other: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.other


PROVIDER_FIELDS: dict[str, ProviderFields] = {
    "vtpass": ProviderFields(
        ("vtpass_base_url", "vtpass_api_key", "vtpass_secret_key", "vtpass_public_key"),
        ("vtpass_webhook_token",),
    ),
    "flutterwave": ProviderFields(
        ("flutterwave_base_url", "flutterwave_secret_key"),
        ("flutterwave_secret_hash", "flutterwave_use_legacy_bills"),
    ),
    "interswitch": ProviderFields(
        (
            "interswitch_base_url",
            "interswitch_passport_url",
            "interswitch_client_id",
            "interswitch_client_secret",
            "interswitch_terminal_id",
        ),
        ("interswitch_request_prefix",),
    ),
    "paystack": ProviderFields(("paystack_base_url", "paystack_secret_key")),
    "stellar": ProviderFields(
        ("stellar_horizon_url", "stellar_system_secret", "cngn_asset_issuer"),
        ("stellar_network_passphrase", "cngn_asset_code"),
    ),
}


class ConfigurationError(ValueError):
    """The environment configures something halfway; the message names what is missing."""


def env_name(field: str) -> str:
    """The environment variable a setting is read from (its first name)."""
    alias = Settings.model_fields[field].validation_alias
    assert isinstance(alias, AliasChoices)
    first = alias.choices[0]
    return first if isinstance(first, str) else field.upper()


def configured_providers(settings: Settings) -> list[str]:
    """The providers (and funding networks) with any required setting given."""
    return [
        name
        for name, fields in PROVIDER_FIELDS.items()
        if any(getattr(settings, field) for field in fields.required)
    ]


def check_provider_settings(settings: Settings) -> None:
    """Refuse a provider configured halfway: silently not routing to it hides the mistake."""
    problems = []
    for name in configured_providers(settings):
        missing = [
            env_name(field)
            for field in PROVIDER_FIELDS[name].required
            if not getattr(settings, field)
        ]
        if missing:
            given = [
                env_name(field)
                for field in PROVIDER_FIELDS[name].required
                if getattr(settings, field)
            ]
            problems.append(f"{name} has {', '.join(given)} but not {', '.join(missing)}")
    if problems:
        raise ConfigurationError(
            "provider configuration is incomplete: "
            + "; ".join(problems)
            + " (set the missing variables, or unset the others to leave it unconfigured)"
        )
