"""The HTTP client each provider connector talks through."""

from __future__ import annotations

import httpx

from billpay.config import Settings


def provider_client(settings: Settings) -> httpx.AsyncClient:
    """A pooled client whose every connection is kept alive.

    httpx keeps only 20 idle connections by default: a worker with more calls in flight
    than that opened and closed a TCP connection for most of them. The pool is also scanned
    on every request, so it is kept to ``PROVIDER_MAX_CONNECTIONS``; calls beyond that wait
    for a free connection (within the call's timeout).
    """
    limit = settings.provider_max_connections
    return httpx.AsyncClient(
        timeout=settings.provider_timeout_seconds,
        limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
    )
