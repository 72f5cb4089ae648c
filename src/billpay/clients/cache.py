"""Authenticated API keys remembered for a minute: no query per request.

Only found keys are remembered; an unknown key is looked up again next time, so a key
created a moment ago works at once. A revoked key is forgotten at once: the revocation
notifies every process (``REVOKED_KEYS_CHANNEL``), and entries are trusted only while this
process listens. While the listening connection is down nothing is remembered (every request
asks the database), and after it comes back everything is forgotten, since notifications
sent meanwhile were lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
import structlog

from billpay.clients.repository import REVOKED_KEYS_CHANNEL
from billpay.clients.service import AuthenticatedClient
from billpay.db.listen import Listener

log = structlog.get_logger(__name__)

KEY_TTL_SECONDS = 60.0


class ApiKeyCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[AuthenticatedClient, float]] = {}
        self._listener: Listener | None = None
        self._connecting: asyncio.Task[None] | None = None
        # Bumped by every revocation heard: a lookup that started before one is not kept.
        self.generation = 0

    async def watch(self, database_url: str) -> bool:
        """Whether this process hears revocations now. When it does not, a connection is
        opened in the background: the request goes on (uncached) instead of waiting for it."""
        if self._listener is None:
            self._listener = Listener(database_url, {REVOKED_KEYS_CHANNEL: self._revoked})
        if self._listener.connected:
            return True
        if self._connecting is None or self._connecting.done():
            self._forget_all()
            self._connecting = asyncio.create_task(self._connect(self._listener))
        return False

    async def _connect(self, listener: Listener) -> None:
        try:
            await listener.ensure()
        except (OSError, asyncpg.PostgresError, TimeoutError):
            log.warning("api_key_revocations_unheard")

    @property
    def listening(self) -> bool:
        return self._listener is not None and self._listener.connected

    def forget(self, key_hash: str) -> None:
        """Drop a key this process revoked itself, before its own notification comes back."""
        self.generation += 1
        self._entries.pop(key_hash, None)

    def get(self, key_hash: str) -> AuthenticatedClient | None:
        cached = self._entries.get(key_hash)
        if cached is None or cached[1] < self._clock():
            return None
        return cached[0]

    def remember(self, key_hash: str, client: AuthenticatedClient, generation: int) -> None:
        """Keep a lookup made at ``generation``, unless a revocation was heard since."""
        if generation == self.generation:
            self._entries[key_hash] = (client, self._clock() + KEY_TTL_SECONDS)

    def _revoked(self, *notification: object) -> None:
        """A revocation's notification (connection, pid, channel, key hash), or the
        listener's call after a reconnect (no arguments): then anything may be stale."""
        if len(notification) == 4 and isinstance(notification[3], str):
            self.forget(notification[3])
        else:
            self._forget_all()

    def _forget_all(self) -> None:
        self.generation += 1
        self._entries.clear()

    async def aclose(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()
