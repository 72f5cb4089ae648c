"""Engine and sessions. Sessions commit only at the request/job boundary (``session_scope``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from billpay.db import health


def async_url(url: str) -> str:
    """``postgresql://…`` (as pgserver, libpq and operators write it) → the asyncpg dialect URL."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def asyncpg_dsn(url: str) -> str:
    """The plain libpq-style DSN asyncpg.connect() takes (LISTEN/NOTIFY, admin commands)."""
    return "postgresql://" + async_url(url).removeprefix("postgresql+asyncpg://")


def socket_dir(url: str) -> str | None:
    """The unix-socket directory of a ``?host=/path`` URL (the embedded server), if any."""
    hosts = parse_qs(urlsplit(url).query).get("host")
    return hosts[0] if hosts else None


def make_engine(
    url: str,
    pool_size: int = 20,
    *,
    pool_timeout_seconds: float = 30.0,
    connect_timeout_seconds: float = 5.0,
) -> AsyncEngine:
    """A pool of up to ``2 × pool_size`` connections that heals after a database cut
    (``db.health``) instead of pinging on every checkout. Every connection it opens is kept
    (no overflow): overflow connections are closed as they come back, and a busy process
    then opened and closed one for most units of work. A connection waits up to
    ``pool_timeout_seconds`` for a free slot and ``connect_timeout_seconds`` to connect, so a
    request during an outage fails in seconds rather than asyncpg's default minute."""
    engine = create_async_engine(
        async_url(url),
        pool_size=2 * pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_recycle=1800,
        hide_parameters=True,  # an error's text never carries a statement's values (secrets)
        pool_timeout=pool_timeout_seconds,
        connect_args={"timeout": connect_timeout_seconds},
    )
    health.watch(engine)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    sessions: async_sessionmaker[AsyncSession], *, autocommit: bool = False
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit if the block finishes, roll back if it raises.

    With ``autocommit`` every statement is its own transaction (no BEGIN, no COMMIT): for a
    unit whose writes are one statement, so that it needs no transaction around it (the
    create of a balance payment, ``payments.repository.insert_reserved``).

    A failure because the database is out of reach (on any path, SQLAlchemy's or raw asyncpg)
    marks the pool stale and is raised as ``DatabaseUnreachable``.
    """
    async with sessions() as session:
        try:
            async with session.begin():
                if autocommit:
                    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                yield session
        except Exception as error:
            if not health.unavailable(error):
                raise
            if health.connection_lost(error):
                health.mark_stale(session.sync_session.get_bind().engine)
            raise health.DatabaseUnreachable("the database is unreachable") from error
