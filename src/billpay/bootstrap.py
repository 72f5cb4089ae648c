"""The composition root: the one place that builds a process's parts and wires them together.

Every process (API, worker, watcher, CLI command, test) gets its ``AppState`` from here.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from billpay.catalog.plans import PlanBook
from billpay.config import ConfigurationError, Settings, check_provider_settings
from billpay.db.engine import make_engine, make_sessionmaker
from billpay.funding.registry import FundingRegistry, build_funding_registry
from billpay.payments.service import PaymentService
from billpay.providers.base import BillProvider, ProviderName
from billpay.providers.registry import build_providers
from billpay.redact import is_secret_key, remember_secrets
from billpay.routing.breaker import BreakerPolicy
from billpay.routing.routes import Routes, RoutingPolicy
from billpay.state import AppState, SandboxedMode


def _configured_secrets(settings: Settings, database_url: str) -> list[str | None]:
    """The credentials this process holds: masked wherever a log line would quote one."""
    named = [value for name, value in settings if is_secret_key(name) and isinstance(value, str)]
    return [*named, urlsplit(database_url).password]


def build_state(settings: Settings, database_url: str) -> AppState:
    check_provider_settings(settings)  # a provider configured halfway: refused, not skipped
    remember_secrets(_configured_secrets(settings, database_url))
    engine = make_engine(
        database_url,
        settings.db_pool_size,
        pool_timeout_seconds=settings.db_pool_timeout_seconds,
        connect_timeout_seconds=settings.db_connect_timeout_seconds,
    )
    providers = build_providers(settings)
    plans = PlanBook()
    funding = build_funding_registry(settings)
    return AppState(
        settings=settings,
        database_url=database_url,
        engine=engine,
        sessions=make_sessionmaker(engine),
        providers=providers,
        plans=plans,
        funding=funding,
        payments=PaymentService(settings, providers, plans, funding),
        routes=Routes(
            providers,
            _breaker_policy(settings),
            allow_loss_routes=settings.allow_loss_routes,
            routing=_routing_policy(settings),
        ),
        test_mode=_test_mode(settings, plans, funding),
    )


def _test_mode(settings: Settings, plans: PlanBook, funding: FundingRegistry) -> SandboxedMode:
    """Test keys' providers: every provider, pointed at the simulators of
    ``BILLPAY_TEST_MODE_SANDBOX_URL`` whatever the live configuration is; none without it."""
    providers: dict[ProviderName, BillProvider] = {}
    if settings.test_mode_sandbox_url:
        from billpay.sandbox.app import sandbox_settings  # only a process that uses them

        simulated = settings.model_copy(
            update=sandbox_settings(settings.test_mode_sandbox_url.rstrip("/"))
        )
        providers = build_providers(simulated)
    return SandboxedMode(
        providers=providers,
        # The simulators' health is not the live providers': breakers and ranking stay off.
        routes=Routes(providers, allow_loss_routes=settings.allow_loss_routes, shared=False),
        payments=PaymentService(settings, providers, plans, funding),
    )


def _breaker_policy(settings: Settings) -> BreakerPolicy:
    return BreakerPolicy(
        consecutive_failures=settings.breaker_consecutive_failures,
        failure_rate=settings.breaker_failure_rate,
        cooldown_seconds=settings.breaker_cooldown_seconds,
        lookback_seconds=settings.routing_window_minutes * 60,
    )


def _routing_policy(settings: Settings) -> RoutingPolicy:
    known = {name.value for name in ProviderName}
    unknown = [name for name in settings.routing_base_order if name not in known]
    if unknown:
        raise ConfigurationError(
            f"BILLPAY_ROUTING_BASE_ORDER names {', '.join(unknown)}: "
            f"the providers are {', '.join(sorted(known))}"
        )
    return RoutingPolicy(
        window=timedelta(minutes=settings.routing_window_minutes),
        min_attempts=settings.routing_min_attempts,
        base_order=tuple(ProviderName(name) for name in settings.routing_base_order),
        refresh_seconds=settings.routing_refresh_seconds,
    )
