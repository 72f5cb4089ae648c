"""Authenticated API keys remembered for a minute: no query per request.

Only found keys are remembered; an unknown key is looked up again next time, so a key
created a moment ago works at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from billpay.clients.service import AuthenticatedClient

KEY_TTL_SECONDS = 60.0


class ApiKeyCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[AuthenticatedClient, float]] = {}

    def get(self, key_hash: str) -> AuthenticatedClient | None:
        cached = self._entries.get(key_hash)
        if cached is None or cached[1] < self._clock():
            return None
        return cached[0]

    def remember(self, key_hash: str, client: AuthenticatedClient) -> None:
        self._entries[key_hash] = (client, self._clock() + KEY_TTL_SECONDS)
