"""What a running billpay process holds: settings, database, providers, caches."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from billpay.clients.service import AuthenticatedClient
from billpay.config import Settings
from billpay.db.engine import make_engine, make_sessionmaker, session_scope
from billpay.funding.registry import build_funding_sources
from billpay.payments.service import PaymentService
from billpay.providers.base import BillProvider, ProviderName
from billpay.providers.registry import build_providers
from billpay.routing.breaker import BreakerPolicy
from billpay.worker.routes import Routes


@dataclass
class AppState:
    settings: Settings
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    providers: dict[ProviderName, BillProvider]
    payments: PaymentService
    routes: Routes
    # API key hash → (client, expiry): authentication without a query per request.
    client_cache: dict[str, tuple[AuthenticatedClient, float]] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, database_url: str) -> AppState:
        engine = make_engine(database_url, settings.db_pool_size)
        providers = build_providers(settings)
        return cls(
            settings=settings,
            database_url=database_url,
            engine=engine,
            sessions=make_sessionmaker(engine),
            providers=providers,
            payments=PaymentService(settings, providers, build_funding_sources(settings)),
            routes=Routes(
                providers,
                BreakerPolicy(
                    consecutive_failures=settings.breaker_consecutive_failures,
                    failure_rate=settings.breaker_failure_rate,
                    cooldown_seconds=settings.breaker_cooldown_seconds,
                ),
            ),
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        async with session_scope(self.sessions) as session:
            yield session

    def cached_client(self, key_hash: str) -> AuthenticatedClient | None:
        cached = self.client_cache.get(key_hash)
        if cached is None or cached[1] < time.monotonic():
            return None
        return cached[0]

    def remember_client(self, key_hash: str, client: AuthenticatedClient) -> None:
        self.client_cache[key_hash] = (client, time.monotonic() + 60.0)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
        await self.engine.dispose()
