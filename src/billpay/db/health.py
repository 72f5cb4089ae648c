"""Telling "the database is unreachable" from a failing statement, and healing the pool.

A cut (a restart, a failover, ``pg_terminate_backend``, a network drop) kills every pooled
connection at once, but each is found dead only when next used. SQLAlchemy heals its own
statements' disconnects; statements sent straight on asyncpg (``db/raw.py``) bypass it, so
their "connection is closed" used to leave the dead connections in the pool until each had
failed a request of its own. Here any unit of work that meets a lost connection marks the
pool stale: every connection opened before that moment is replaced at its next checkout, so
the first request after the database is back gets a live one.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import asyncpg
from sqlalchemy import event, exc, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

_GENERATION = "billpay.pool_generation"

# The driver's own ways of saying the connection is gone or unusable: no Postgres session
# behind it any more (08xxx, 57Pxx), refused (53300), or a protocol left mid-operation.
_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connecting took longer than the connect timeout
)


class DatabaseUnreachable(Exception):
    """A unit of work failed because the database could not be reached (or no connection was
    free in time). Not an ``ApiError``: code that catches those must not mistake an outage for
    a rule the caller broke. The API answers it with a 503."""


class _Generation:
    """How many times the pool was found stale; each connection remembers the count it was
    opened under."""

    def __init__(self) -> None:
        self.current = 0


_generations: weakref.WeakKeyDictionary[Engine, _Generation] = weakref.WeakKeyDictionary()


def watch(engine: AsyncEngine) -> None:
    """Make ``engine``'s pool replace connections older than the last loss at checkout."""
    generation = _Generation()
    _generations[engine.sync_engine] = generation
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    def _born(_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_GENERATION] = generation.current

    @event.listens_for(pool, "checkout")
    def _check(_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if record.info.get(_GENERATION, -1) < generation.current:
            # The pool closes it and opens another in its place (or raises if it cannot).
            raise exc.DisconnectionError("opened before the database connection was lost")


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` (or what it was raised from) says a connection is gone."""
    seen: BaseException | None = error
    for _ in range(8):  # SQLAlchemy wraps the adapter's error, which wraps asyncpg's
        if seen is None:
            return False
        if isinstance(seen, exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, _LOST):
            return True
        seen = seen.__cause__ or (seen.orig if isinstance(seen, exc.DBAPIError) else None)
    return False


def unavailable(error: BaseException) -> bool:
    """Lost, or no pooled connection came free within the pool timeout."""
    return connection_lost(error) or isinstance(error, exc.TimeoutError)


def mark_stale(engine: Engine) -> None:
    """Every connection ``engine`` holds now is to be replaced before its next use."""
    generation = _generations.get(engine)
    if generation is not None:
        generation.current += 1


async def ready(engine: AsyncEngine, timeout_seconds: float) -> bool:
    """Whether a pooled connection answers a statement within ``timeout_seconds``."""
    try:
        async with asyncio.timeout(timeout_seconds), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:
        if not unavailable(error):
            raise
        if connection_lost(error):
            mark_stale(engine.sync_engine)
        return False
    return True
