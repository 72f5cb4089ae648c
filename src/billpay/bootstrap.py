"""The composition root: the one place that builds a process's parts and wires them together.

Every process (API, worker, watcher, CLI command, test) gets its ``AppState`` from here.
"""

from __future__ import annotations

from billpay.catalog.plans import PlanBook
from billpay.config import Settings
from billpay.db.engine import make_engine, make_sessionmaker
from billpay.funding.registry import build_funding_registry
from billpay.payments.service import PaymentService
from billpay.providers.registry import build_providers
from billpay.routing.breaker import BreakerPolicy
from billpay.routing.routes import Routes
from billpay.state import AppState


def build_state(settings: Settings, database_url: str) -> AppState:
    engine = make_engine(database_url, settings.db_pool_size)
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
        routes=Routes(providers, _breaker_policy(settings)),
    )


def _breaker_policy(settings: Settings) -> BreakerPolicy:
    return BreakerPolicy(
        consecutive_failures=settings.breaker_consecutive_failures,
        failure_rate=settings.breaker_failure_rate,
        cooldown_seconds=settings.breaker_cooldown_seconds,
    )
