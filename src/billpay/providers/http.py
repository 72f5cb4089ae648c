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

Requests go out over one aiohttp session per provider (keep-alive pool), unless an httpx
client is lent (tests lend one over ``httpx.MockTransport``): per call, aiohttp costs about a
tenth of httpx's CPU, and httpx's cost grows with the calls in flight (``bench/transport.py``).
"""

from __future__ import annotations

import codecs
import enum
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import httpx
import structlog

from billpay.config import Settings
from billpay.providers import calls
from billpay.redact import mask_text, redact

log = structlog.get_logger(__name__)

RAW_TEXT_LIMIT = 500  # how much of a non-JSON body is kept as evidence
IDLE_CONNECTION_SECONDS = 5.0  # how long an idle pooled connection is kept

# Raised before a single byte of the request was written. aiohttp raises the connector
# errors (refused, DNS, TLS handshake, proxy) and ``ConnectionTimeoutError`` (no free pooled
# connection, or no connection, within the connect timeout) only from ``connector.connect``,
# before the request is written. A plain ``TimeoutError`` is not here: aiohttp raises it when
# the overall deadline passes, which may be after the request went out.
NEVER_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
)
# Every failure of a request that is the transport's to report; anything else is a bug.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, aiohttp.ClientError, TimeoutError)


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

    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive when received

    @cached_property
    def text(self) -> str:
        """The body decoded with its declared charset (UTF-8 when none), never failing."""
        return self.content.decode(_charset(self.headers.get("content-type")), errors="replace")

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
    def answered(cls, answer: Answer, elapsed_ms: int = 0) -> Exchange:
        return cls(Delivery.ANSWERED, answer=answer, elapsed_ms=elapsed_ms)

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
    def timed_out(self) -> bool:
        """No answer came back in time (whichever client: both raise a ``TimeoutError`` kind)."""
        return isinstance(self.error, httpx.TimeoutException | TimeoutError)

    @property
    def problem(self) -> str:
        """Why no answer came back (``"ConnectError: refused"``); empty when one did."""
        return describe(self.error) if self.error is not None else ""


class Sender(Protocol):
    """Puts one request on the wire and reads its whole answer; raises on a transport failure."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        json: Mapping[str, Any] | None,
        data: Mapping[str, str] | None,
    ) -> Answer: ...

    async def aclose(self) -> None: ...

    @property
    def closed(self) -> bool: ...


class ProviderTransport:
    """Sends one provider's requests through one sender, and says what became of each."""

    def __init__(self, provider: str, sender: Sender) -> None:
        self._provider = provider
        self._sender = sender

    @classmethod
    def for_provider(
        cls, provider: str, settings: Settings, client: httpx.AsyncClient | None = None
    ) -> ProviderTransport:
        """Over ``client`` when one is lent (left open on close), else over a pool of its own."""
        if client is None:
            return cls(provider, AiohttpSender(settings))
        return cls(
            provider,
            HttpxSender(client, timeout=settings.provider_timeout_seconds, owns_client=False),
        )

    @property
    def closed(self) -> bool:
        return self._sender.closed

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
            answer = await self._sender.request(
                method, url, params=params, headers=headers, content=content, json=json, data=data
            )
        except TRANSPORT_ERRORS as exc:
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
            exchange = Exchange.answered(answer, _elapsed_ms(started))
        kind = calls.current_kind()
        if kind is not None:  # someone keeps the evidence of this exchange
            request = calls.masked_request(method, url, params, content, json, data)
            calls.note(_call_record(self._provider, kind, request, exchange, started_at))
        return exchange

    async def aclose(self) -> None:
        await self._sender.aclose()


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


class HttpxSender:
    """Over an httpx client; closes it only if it owns it."""

    def __init__(self, client: httpx.AsyncClient, *, timeout: float, owns_client: bool) -> None:
        self._client = client
        self._timeout = timeout
        self._owns_client = owns_client

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        json: Mapping[str, Any] | None,
        data: Mapping[str, str] | None,
    ) -> Answer:
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
        return Answer(response.status_code, response.content, response.headers)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    @property
    def closed(self) -> bool:
        return self._client.is_closed


class AiohttpSender:
    """One aiohttp session whose connections are all kept alive, made on first use (aiohttp
    wants a running event loop) and closed by ``aclose``.

    At most ``PROVIDER_MAX_CONNECTIONS`` connections; calls beyond that wait for a free one.
    Timeouts are per phase, as httpx's were: getting a connection (pool wait and connect) and
    each wait for answer bytes are bounded by ``PROVIDER_TIMEOUT_SECONDS`` each. A connect-phase
    timeout is then ``ConnectionTimeoutError`` (never sent); an overall deadline would instead
    surface as a plain ``TimeoutError`` that says nothing about whether the request left.
    Writing needs no bound of its own: a request body this small goes into the socket buffer
    at once, and the read timer starts when it has.
    """

    def __init__(self, settings: Settings) -> None:
        self._max_connections = settings.provider_max_connections
        seconds = settings.provider_timeout_seconds
        self._timeout = aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def _opened(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("provider transport is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    # Idle connections go after 5 s, as httpx's did: reusing one the provider is
                    # closing (servers drop idle ones after 5 s and up) makes a purchase unknown.
                    keepalive_timeout=IDLE_CONNECTION_SECONDS,
                ),
                timeout=self._timeout,
                # Providers authenticate with keys, not cookies; a jar would only carry one
                # call's cookies into the next, and filtering it costs time on every call.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            # aiohttp sends a GET/PUT/DELETE again, once, when a kept-alive connection fails
            # under it; if that second try cannot connect, the call would read as never sent
            # though the first may have arrived. There is no public switch; aiohttp's own
            # test client turns it off the same way (a test guards it).
            self._session._retry_connection = False
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        json: Mapping[str, Any] | None,
        data: Mapping[str, str] | None,
    ) -> Answer:
        body, content_type = encoded_body(content, json, data)
        sent_headers = dict(headers or {})
        if content_type is not None and not any(k.lower() == "content-type" for k in sent_headers):
            sent_headers["content-type"] = content_type
        # A redirect is an answer for the caller to judge, as it was over httpx: following it
        # would turn a POST into a GET somewhere else.
        async with self._opened().request(
            method,
            url,
            params=params,
            headers=sent_headers,
            data=body,
            allow_redirects=False,
            proxy=self._proxy_for(url),
        ) as response:
            return Answer(response.status, await response.read(), response.headers)

    def _proxy_for(self, url: str) -> str | None:
        """The egress proxy the environment names for ``url`` (``HTTPS_PROXY``, ``NO_PROXY``…),
        honoured as httpx honoured it (providers allow-list our IPs). Looked up once per
        origin: aiohttp's own ``trust_env`` looks it up in a thread on every request."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        if origin not in self._proxies:
            bypass = parts.hostname is None or proxy_bypass(parts.hostname)
            self._proxies[origin] = None if bypass else getproxies().get(parts.scheme)
        return self._proxies[origin]

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()


def encoded_body(
    content: bytes | None, json_body: Mapping[str, Any] | None, data: Mapping[str, str] | None
) -> tuple[bytes | None, str | None]:
    """The request body and its content type, encoded byte for byte as httpx encodes them."""
    if content is not None:
        return content, None
    if json_body is not None:
        text = json.dumps(json_body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode(), "application/json"
    if data is not None:
        return urlencode(data, doseq=True).encode(), "application/x-www-form-urlencoded"
    return None, None


def _charset(content_type: str | None) -> str:
    """The charset a Content-Type names, when Python knows it; else UTF-8."""
    if content_type:
        message = Message()
        message["content-type"] = content_type
        charset = message.get_content_charset()
        if charset:
            try:
                return codecs.lookup(charset).name
            except LookupError:
                pass
    return "utf-8"


def describe(error: BaseException) -> str:
    """``"ReadTimeout: timed out"``, or just the class name when the error says nothing more."""
    detail = str(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
