"""LISTEN connections that come back after the database dropped them (restart, failover,
``pg_terminate_backend``): without one, a waiter falls back to its slow poll for good."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import asyncpg

from billpay.db.engine import asyncpg_dsn

Wake = Callable[..., None]


class Listener:
    """Calls ``wakes[channel]`` on each notification of ``channel``.

    ``ensure`` (re)opens the connection when it is missing or closed. Notifications sent while
    it was away are lost, so after a reconnect every wake is called once: the waiter looks for
    work instead of trusting that it missed nothing.
    """

    def __init__(self, database_url: str, wakes: Mapping[str, Wake]) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._wakes = dict(wakes)
        self._connection: asyncpg.Connection | None = None

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    async def ensure(self) -> None:
        if self.connected:
            return
        reconnecting = self._connection is not None
        connection: asyncpg.Connection = await asyncpg.connect(self._dsn)
        for channel, wake in self._wakes.items():
            await connection.add_listener(channel, wake)
        self._connection = connection
        if reconnecting:
            for wake in self._wakes.values():
                wake()

    async def close(self) -> None:
        """Close quietly: the connection may already be gone with the database."""
        if self._connection is not None:
            try:
                await self._connection.close(timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                self._connection.terminate()
