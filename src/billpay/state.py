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
    api_keys: ApiKeyCache = field(default_factory=ApiKeyCache)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        async with session_scope(self.sessions) as session:
            yield session

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
        await self.engine.dispose()
