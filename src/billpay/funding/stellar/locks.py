"""Postgres advisory locks held on a dedicated connection: one deposit watcher, and one refund
signer, per Stellar account across every billpay process.

The lock lives as long as its connection: if the connection dies the lock is gone, so holders
check ``lost`` before each unit of work (and the watcher also fences its cursor row).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import structlog

from billpay.db.engine import asyncpg_dsn

log = structlog.get_logger(__name__)

_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended($1, 0))"


class AdvisoryLock:
    def __init__(self, connection: asyncpg.Connection, name: str) -> None:
        self._connection = connection
        self.name = name

    @property
    def lost(self) -> bool:
        return self._connection.is_closed()


@asynccontextmanager
async def advisory_lock(
    database_url: str,
    name: str,
    *,
    stop: asyncio.Event | None = None,
    retry_seconds: float = 1.0,
) -> AsyncIterator[AdvisoryLock | None]:
    """Hold the lock ``name`` for the block. Without ``stop``, one try: ``None`` when someone
    else holds it. With ``stop``, waits until it is free (``None`` only if stopped first)."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        acquired = await _acquire(connection, name, stop, retry_seconds)
        if not acquired:
            yield None
            return
        try:
            yield AdvisoryLock(connection, name)
        finally:
            if not connection.is_closed():
                await connection.execute(_UNLOCK, name)
    finally:
        await connection.close()


async def _acquire(
    connection: asyncpg.Connection, name: str, stop: asyncio.Event | None, retry_seconds: float
) -> bool:
    waiting = False
    while True:
        if await connection.fetchval(_TRY_LOCK, name):
            if waiting:
                log.info("advisory_lock_acquired", lock=name)
            return True
        if stop is None:
            return False
        if not waiting:
            log.info("advisory_lock_waiting", lock=name)
            waiting = True
        try:
            await asyncio.wait_for(stop.wait(), timeout=retry_seconds)
            return False
        except TimeoutError:
            continue
