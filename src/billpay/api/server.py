"""How uvicorn serves the API to slow or hostile clients.

uvicorn times out an idle keep-alive connection, but not a client that opens a connection and
sends its request line and headers a byte at a time (slowloris): each such connection is held
for ever. ``HeaderDeadline`` closes a connection whose headers are not complete within the
deadline of its opening (or of the previous response on it). Header size is capped by h11's
and httptools' limits; the body's size and pace by ``api.limits.BodyLimit``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from billpay.config import Settings

MAX_HEADER_BYTES = 16 * 1024


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` serving billpay's API."""
    return {
        "http": header_deadline_protocol(settings.header_read_timeout_seconds),
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }


def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, closing connections whose headers take over ``seconds``."""

    class HeaderDeadline(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            pipelined = bool(self.pipeline)  # its headers are in already
            super().on_response_complete()
            if not pipelined and not self.transport.is_closing():
                self._arm()  # the next request on this connection has as long

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline
