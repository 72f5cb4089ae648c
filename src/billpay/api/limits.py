"""The body limit: every request's body is read here, against a size limit and a deadline,
before any route parses it.

``Content-Length`` over the limit is refused before a byte of the body is read; a body sent
without one (chunked) is counted as it arrives and refused as soon as it passes the limit, so
a 100 MB post costs at most the limit in memory. A sender that trickles its body is cut off
at the deadline (408). A JSON body nested deeper than the limit is refused (422) before a
parser recurses into it. The app then reads the buffered body as usual.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from itertools import accumulate

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billpay.errors import ApiError, BodyTooLarge, JsonTooDeep, RequestTimeout, error_body

_WEBHOOKS = "/v1/webhooks/"
# A JSON string (escapes included), so that brackets inside strings are not counted.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int
    max_webhook_bytes: int
    read_timeout_seconds: float
    max_json_depth: int

    def for_path(self, path: str) -> int:
        # Provider notifications are a few kilobytes; the rest of the API takes small JSON.
        return self.max_webhook_bytes if path.startswith(_WEBHOOKS) else self.max_bytes


class _Refused(Exception):
    def __init__(self, error: ApiError) -> None:
        self.error = error


class _Disconnected(Exception):
    pass


class BodyLimit:
    """ASGI middleware (a plain one: Starlette's ``BaseHTTPMiddleware`` costs far more)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        try:
            _check_declared_length(scope, limit)
            body = await self._read(receive, limit)
            _check_depth(body, self.limits.max_json_depth)
        except _Refused as refused:
            await _answer(send, refused.error)
            return
        except _Disconnected:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.read_timeout_seconds):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _Disconnected
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise _Refused(_too_large(limit))
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            seconds = self.limits.read_timeout_seconds
            raise _Refused(RequestTimeout(f"body: not received within {seconds:g} s")) from None


def _check_declared_length(scope: Scope, limit: int) -> None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                raise _Refused(BodyTooLarge("content-length: not a number of bytes"))
            if int(value) > limit:
                raise _Refused(_too_large(limit))


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"body: larger than {limit} bytes", details={"limit_bytes": limit})


def _check_depth(body: bytes, max_depth: int) -> None:
    """Refuse JSON nested deeper than ``max_depth``: counted on the brackets outside strings,
    in C-speed passes, so that no parser (json, pydantic) recurses into it."""
    if b"[" not in body and b"{" not in body:
        return
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if len(brackets) <= max_depth:  # cannot nest deeper than it has brackets
        return
    depth = max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)
    if depth > max_depth:
        raise _Refused(
            JsonTooDeep(
                f"body: JSON nested {depth} levels deep; at most {max_depth} are read",
                details={"field": "body", "max_depth": max_depth},
            )
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """The buffered body as one message, then the connection's own (its disconnect)."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _answer(send: Send, error: ApiError) -> None:
    content = json.dumps(error_body(error.code, error.message, error.details)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                # The rest of the body was never read: this connection cannot carry another.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
