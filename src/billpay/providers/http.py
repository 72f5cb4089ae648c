"""The one HTTP transport every outbound payment-provider client talks through.

It sends a request and says which of three things happened (DESIGN §2, "Attempts"):

- ``NEVER_SENT``: the request provably never left (no connection, no free pooled connection),
  so it is safe to send again under the same reference;
- ``SENT_UNKNOWN``: any other transport failure or timeout: the provider may have acted on it;
- ``ANSWERED``: an HTTP answer came back, whatever its status; its body is read here and what
  it *means* is the caller's decision.

Failures are logged here, with the method and path only: query strings, headers and bodies
carry customer details and credentials. Every exchange, masked, also goes to the caller's call
record when one is being collected (``billpay.providers.calls``).
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import httpx
import structlog

from billpay.config import Settings
from billpay.providers import calls
from billpay.redact import mask_text, redact

log = structlog.get_logger(__name__)

RAW_TEXT_LIMIT = 500  # how much of a non-JSON body is kept as evidence

# Raised before a single byte of the request was written.
NEVER_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


class Delivery(enum.StrEnum):
    NEVER_SENT = "never_sent"
    SENT_UNKNOWN = "sent_unknown"
    ANSWERED = "answered"


def delivery_after(error: Exception) -> Delivery:
    """What a transport failure proves about the request: never sent, or maybe delivered."""
    return Delivery.NEVER_SENT if isinstance(error, NEVER_SENT_ERRORS) else Delivery.SENT_UNKNOWN


@dataclass(frozen=True)
class Answer:
    """An HTTP answer with its body read; nothing about it decided."""

    response: httpx.Response

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def content(self) -> bytes:
        return self.response.content

    @property
    def text(self) -> str:
        return self.response.text

    def json(self) -> Any:
        """The body as JSON. Raises ``ValueError`` when it is not JSON (or not text at all)."""
        return json.loads(self.content)

    @cached_property
    def body(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return self.json()
        except ValueError:
            return None

    @property
    def json_object(self) -> dict[str, Any] | None:
        return self.body if isinstance(self.body, dict) else None

    @cached_property
    def masked_body(self) -> Any:
        """The JSON body, secrets masked, or None when it is not JSON. Masked once: the call
        record and the connector's evidence share it."""
        body = self.body
        return None if body is None else redact(body)

    def masked_object(self) -> dict[str, Any] | None:
        """The JSON object, secrets masked, for storing; None when the body is not one."""
        masked = self.masked_body
        return masked if isinstance(masked, dict) else None

    def masked_text(self, limit: int = RAW_TEXT_LIMIT) -> str:
        """The start of the body as text, token-like digit runs masked, for storing."""
        return mask_text(self.text[:limit])


@dataclass(frozen=True)
class Exchange:
    """One request and what came of it. ``answer`` is set exactly when it was ANSWERED."""

    delivery: Delivery
    answer: Answer | None = None
    error: Exception | None = None
    elapsed_ms: int = 0

    @classmethod
    def answered(cls, response: httpx.Response, elapsed_ms: int = 0) -> Exchange:
        return cls(Delivery.ANSWERED, answer=Answer(response), elapsed_ms=elapsed_ms)

    @classmethod
    def failed(cls, error: Exception, elapsed_ms: int = 0) -> Exchange:
        return cls(delivery_after(error), error=error, elapsed_ms=elapsed_ms)

    @classmethod
    def unsent(cls, reason: Exception) -> Exchange:
        """A request the caller gave up on before sending (e.g. no credentials could be had)."""
        return cls(Delivery.NEVER_SENT, error=reason)

    @property
    def sent(self) -> bool:
        """False only when the request provably never left."""
        return self.delivery is not Delivery.NEVER_SENT

    @property
    def problem(self) -> str:
        """Why no answer came back (``"ConnectError: refused"``); empty when one did."""
        return describe(self.error) if self.error is not None else ""


class ProviderTransport:
    """Sends one provider's requests over one client; closes the client only if it owns it."""

    def __init__(
        self, provider: str, client: httpx.AsyncClient, *, timeout: float, owns_client: bool
    ) -> None:
        self._provider = provider
        self._client = client
        self._timeout = timeout
        self._owns_client = owns_client

    @classmethod
    def for_provider(
        cls, provider: str, settings: Settings, client: httpx.AsyncClient | None = None
    ) -> ProviderTransport:
        """Over ``client`` when one is lent, else over a pooled client of its own."""
        owned = client is None
        return cls(
            provider,
            provider_client(settings) if client is None else client,
            timeout=settings.provider_timeout_seconds,
            owns_client=owned,
        )

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Exchange:
        started_at = datetime.now(UTC)
        started = time.monotonic()
        try:
            response = await self._client.request(
                method,
                url,
                params=params,
                headers=headers,
                content=content,
                json=json,
                data=data,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            exchange = Exchange.failed(exc, _elapsed_ms(started))
            log.warning(
                "provider call without an answer",
                provider=self._provider,
                method=method,
                path=httpx.URL(url).path,
                delivery=exchange.delivery.value,
                error=exchange.problem,
            )
        else:
            exchange = Exchange.answered(response, _elapsed_ms(started))
        kind = calls.current_kind()
        if kind is not None:  # someone keeps the evidence of this exchange
            request = calls.masked_request(method, url, params, content, json, data)
            calls.note(_call_record(self._provider, kind, request, exchange, started_at))
        return exchange

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _call_record(
    provider: str,
    kind: calls.CallKind,
    request: dict[str, Any],
    exchange: Exchange,
    started_at: datetime,
) -> calls.ProviderCall:
    """The exchange as evidence for the call record, masked."""
    answer = exchange.answer
    body = None if answer is None else answer.masked_body
    text = None if answer is None or body is not None else answer.masked_text(calls.RAW_TEXT_LIMIT)
    return calls.ProviderCall(
        provider=provider,
        kind=kind,
        method=request["method"],
        url=request["url"],
        request=request,
        delivery=exchange.delivery.value,
        started_at=started_at,
        latency_ms=exchange.elapsed_ms,
        http_status=None if answer is None else answer.status,
        response=body,
        response_text=text,
        error=exchange.problem[:500] or None,
    )


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


def describe(error: BaseException) -> str:
    """``"ReadTimeout: timed out"``, or just the class name when the error says nothing more."""
    detail = str(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
