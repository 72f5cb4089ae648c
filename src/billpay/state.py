"""What a running billpay process holds, as built by ``billpay.bootstrap``.

A holder, not a builder: it imports the types of what it holds and nothing builds here.
Only the process edges (the API's dependencies, the app, the worker, the CLI) reach for it;
domain code takes what it needs as arguments or through a small protocol of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from billpay.catalog.plans import PlanBook
from billpay.clients.cache import ApiKeyCache
from billpay.config import Settings
from billpay.db.engine import session_scope
from billpay.funding.registry import FundingRegistry
from billpay.payments.service import PaymentService
from billpay.providers.base import BillProvider, ProviderName
from billpay.routing.routes import Routes


@dataclass
class SandboxedMode:
    """What test-mode payments (a ``bp_test_`` key's) use instead of the configured providers:
    the same providers pointed at the simulators (``BILLPAY_TEST_MODE_SANDBOX_URL``)."""

    providers: dict[ProviderName, BillProvider]
    routes: Routes
    payments: PaymentService


@dataclass
class AppState:
    settings: Settings
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    providers: dict[ProviderName, BillProvider]
    plans: PlanBook
    funding: FundingRegistry
    payments: PaymentService
    routes: Routes
    test_mode: SandboxedMode  # never the live providers: a test key must not reach a real one
    api_keys: ApiKeyCache = field(default_factory=ApiKeyCache)

    def providers_for(self, livemode: bool) -> dict[ProviderName, BillProvider]:
        return self.providers if livemode else self.test_mode.providers

    def routes_for(self, livemode: bool) -> Routes:
        return self.routes if livemode else self.test_mode.routes

    def payments_for(self, livemode: bool) -> PaymentService:
        return self.payments if livemode else self.test_mode.payments

    @asynccontextmanager
    async def unit_of_work(self, *, autocommit: bool = False) -> AsyncIterator[AsyncSession]:
        async with session_scope(self.sessions, autocommit=autocommit) as session:
            yield session

    async def aclose(self) -> None:
        for provider in (*self.providers.values(), *self.test_mode.providers.values()):
            await provider.aclose()
        await self.api_keys.aclose()
        await self.engine.dispose()
