"""Interswitch Quickteller v5 over HTTP (providers.md §3).

This module holds Interswitch's paths, Passport tokens and headers: wire shapes live in ``wire``,
every decision in ``transformers``, and ``providers.http`` sends. A purchase whose answer is
missing, 5xx or unreadable is ``UNKNOWN`` (requery the same ``requestReference``); only a request
that provably never left (no connection, no token) is reported with ``sent=False``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx
import structlog
from pydantic import ValidationError

from billpay.config import Settings
from billpay.providers.base import (
    CustomerValidation,
    Outcome,
    ProviderError,
    ProviderName,
    ProviderPlan,
    ProviderProduct,
    VendRequest,
    VendResult,
    WebhookEvent,
)
from billpay.providers.http import Exchange, ProviderTransport, describe
from billpay.providers.interswitch import webhooks
from billpay.providers.interswitch.transformers import (
    advice_result,
    category_bill_type,
    customer_validation,
    new_request_reference,
    parse_billers,
    parse_categories,
    parse_payment_items,
    payment_advice_body,
    plans_for_biller,
    query_result,
    sells_bills,
    unavailable_validation,
    validate_customers_body,
)
from billpay.providers.interswitch.wire import Biller, Category, PassportToken
from billpay.redact import redact

log = structlog.get_logger(__name__)

TOKEN_RENEWAL_MARGIN_SECONDS = 30.0  # the docs ask for renewal at least 30 s before expiry
CATALOG_CONCURRENCY = 8


class PassportUnavailable(ProviderError):
    """No bearer token could be obtained, so the API request was never sent."""


@dataclass(frozen=True)
class _BearerToken:
    value: str
    renew_at: float  # clock reading after which the token is renewed before use


class PassportTokens:
    """OAuth2 client-credentials tokens: cached, renewed in the last 30 s, one refresh at a time.

    Callers that find the token stale queue on one lock. The first fetches; the others take what
    it fetched, even when that token is already inside the renewal margin, so a burst of
    concurrent calls costs exactly one token request.
    """

    def __init__(
        self,
        http: ProviderTransport,
        token_url: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float],
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._clock = clock
        self._lock = asyncio.Lock()
        self._current: _BearerToken | None = None
        self._generation = 0  # bumped per fetched token, so waiters know a refresh happened

    async def bearer(self) -> str:
        current = self._current
        if current is not None and self._clock() < current.renew_at:
            return current.value
        seen_generation = self._generation
        async with self._lock:
            current = self._current
            refreshed_meanwhile = self._generation != seen_generation
            if current is not None and (refreshed_meanwhile or self._clock() < current.renew_at):
                return current.value
            fetched = await self._fetch()
            self._current = fetched
            self._generation += 1
            return fetched.value

    def discard(self, rejected: str) -> None:
        """Forget a token the API refused with 401, unless a newer one has replaced it already."""
        if self._current is not None and self._current.value == rejected:
            self._current = None

    async def _fetch(self) -> _BearerToken:
        requested_at = self._clock()
        exchange = await self._http.send(
            "POST",
            self._token_url,
            headers={"Authorization": f"Basic {self._basic}"},
            data={"grant_type": "client_credentials"},
        )
        answer = exchange.answer
        if answer is None:
            unreachable = f"passport unreachable: {type(exchange.error).__name__}"
            raise PassportUnavailable(unreachable) from exchange.error
        if answer.status != httpx.codes.OK:
            raise PassportUnavailable(f"passport answered HTTP {answer.status}")
        try:
            token = PassportToken.model_validate_json(answer.content)
        except ValidationError:
            # ``from None``: the validation error quotes the body, which may hold a token.
            raise PassportUnavailable("passport answer holds no usable access token") from None
        renew_at = requested_at + token.expires_in - TOKEN_RENEWAL_MARGIN_SECONDS
        return _BearerToken(token.access_token, renew_at)


class InterswitchConnector:
    """The ``BillProvider`` for Interswitch Quickteller v5.

    ``interswitch_base_url`` is the API root (``…/quicktellerservice/api/v5``) and
    ``interswitch_passport_url`` the host that serves ``/passport/oauth/token``.
    """

    name: ProviderName = ProviderName.INTERSWITCH

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_url = _url(settings.interswitch_base_url, "INTERSWITCH_BASE_URL")
        passport_url = _url(settings.interswitch_passport_url, "INTERSWITCH_PASSPORT_URL")
        self._terminal_id = _required(settings.interswitch_terminal_id, "INTERSWITCH_TERMINAL_ID")
        self._request_prefix = settings.interswitch_request_prefix
        self._http = ProviderTransport.for_provider(self.name, settings, client)
        self._tokens = PassportTokens(
            self._http,
            f"{passport_url}/passport/oauth/token",
            _required(settings.interswitch_client_id, "INTERSWITCH_CLIENT_ID"),
            _required(settings.interswitch_client_secret, "INTERSWITCH_CLIENT_SECRET"),
            clock,
        )

    def new_reference(self, now: datetime) -> str:
        """Prefix + 8 random digits; unlike VTpass, Interswitch references carry no date."""
        return new_request_reference(self._request_prefix)

    # --- purchases ---------------------------------------------------------------------------

    async def pay(self, request: VendRequest) -> VendResult:
        """Send the payment advice. Raises ``ValueError`` before sending for a malformed request."""
        body = payment_advice_body(request, self._terminal_id)
        evidence = redact({"method": "POST", "path": "/Transactions", "body": body})
        return await self._vend_call(
            evidence, lambda: self._call("POST", "/Transactions", json=body), advice_result
        )

    async def requery(self, request: VendRequest) -> VendResult:
        params = {"requestRef": request.reference}
        evidence = redact({"method": "GET", "path": "/Transactions", "params": params})
        return await self._vend_call(
            evidence,
            lambda: self._call("GET", "/Transactions", params=params),
            lambda body: query_result(body, request.amount_kobo),
        )

    async def _vend_call(
        self,
        evidence: Mapping[str, Any],
        send: Callable[[], Awaitable[Exchange]],
        classify: Callable[[Mapping[str, Any]], VendResult],
    ) -> VendResult:
        exchange = await send()
        answer = exchange.answer
        if answer is None:
            return _transport_unknown(exchange, evidence)
        body = answer.json_object
        if answer.status >= httpx.codes.INTERNAL_SERVER_ERROR or body is None:
            log.warning("interswitch answer unusable", path=evidence["path"], status=answer.status)
            response = answer.masked_object()
            return VendResult(
                outcome=Outcome.UNKNOWN,
                provider_status=f"http_{answer.status}",
                message=f"HTTP {answer.status} without a readable answer: requery",
                http_status=answer.status,
                request=evidence,
                response=response,
                raw_text=None if response is not None else answer.masked_text(),
            )
        return replace(classify(body), http_status=answer.status, request=evidence)

    # --- customers ---------------------------------------------------------------------------

    async def validate_customer(
        self, product: ProviderProduct, customer_id: str
    ) -> CustomerValidation:
        body = validate_customers_body(product.plan_code, customer_id, self._terminal_id)
        exchange = await self._call("POST", "/Transactions/validatecustomers", json=body)
        answer = exchange.answer
        if answer is None:
            return unavailable_validation(f"interswitch unreachable: {exchange.problem}")
        payload = answer.json_object
        if answer.status >= httpx.codes.INTERNAL_SERVER_ERROR or payload is None:
            return unavailable_validation(f"HTTP {answer.status} from interswitch")
        return customer_validation(payload)

    # --- catalog -----------------------------------------------------------------------------

    async def catalog(self) -> list[ProviderPlan]:
        """Categories → billers → payment items, for the categories that sell our bill types."""
        categories = parse_categories(await self._get_json("/services/categories"))
        limiter = asyncio.Semaphore(CATALOG_CONCURRENCY)
        wanted = [category for category in categories if category_bill_type(category.name)]
        biller_lists = await asyncio.gather(
            *(self._billers(category, limiter) for category in wanted)
        )
        billers = [biller for billers in biller_lists for biller in billers if sells_bills(biller)]
        plan_lists = await asyncio.gather(*(self._plans(biller, limiter) for biller in billers))
        return [plan for plans in plan_lists for plan in plans]

    async def _billers(self, category: Category, limiter: asyncio.Semaphore) -> list[Biller]:
        async with limiter:
            body = await self._get_json("/services", {"categoryid": category.id or ""})
        return parse_billers(body)

    async def _plans(self, biller: Biller, limiter: asyncio.Semaphore) -> list[ProviderPlan]:
        async with limiter:
            body = await self._get_json("/services/options", {"serviceid": biller.id or ""})
        return plans_for_biller(biller, parse_payment_items(body))

    async def _get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        exchange = await self._call("GET", path, params=params)
        answer = exchange.answer
        if answer is None:
            raise ProviderError(f"interswitch {path}: {exchange.problem}") from exchange.error
        body = answer.json_object
        if answer.status != httpx.codes.OK or body is None:
            raise ProviderError(f"interswitch {path}: HTTP {answer.status}, no JSON object")
        return body

    # --- webhooks and lifecycle --------------------------------------------------------------

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, path_token: str | None
    ) -> WebhookEvent:
        return webhooks.parse_webhook(headers, body, path_token)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- HTTP --------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> Exchange:
        """One API call. A 401 means our token died early: one fresh token, one retry.

        Without a token the request is never sent, like a refused connection.
        """
        try:
            token = await self._tokens.bearer()
            exchange = await self._send(method, path, token, params, json)
            if exchange.answer is not None and exchange.answer.status == httpx.codes.UNAUTHORIZED:
                self._tokens.discard(token)
                exchange = await self._send(method, path, await self._tokens.bearer(), params, json)
        except PassportUnavailable as exc:
            log.warning("interswitch request not sent", path=path, error=describe(exc))
            return Exchange.unsent(exc)
        return exchange

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, str] | None,
        json: Mapping[str, Any] | None,
    ) -> Exchange:
        return await self._http.send(
            method,
            f"{self._base_url}{path}",
            params=params,
            json=json,
            headers={"Authorization": f"Bearer {token}", "TerminalID": self._terminal_id},
        )


def _required(value: str | None, env_name: str) -> str:
    if not value:
        raise ValueError(f"interswitch is not configured: {env_name} is missing")
    return value


def _url(value: str | None, env_name: str) -> str:
    return _required(value, env_name).rstrip("/")


def _transport_unknown(exchange: Exchange, evidence: Mapping[str, Any]) -> VendResult:
    if not exchange.sent:
        return VendResult(
            outcome=Outcome.UNKNOWN,
            provider_status="not_sent",
            message=exchange.problem,
            sent=False,
            request=evidence,
        )
    return VendResult(
        outcome=Outcome.UNKNOWN,
        provider_status="no_answer",
        message=f"{exchange.problem}: outcome unknown, requery",
        request=evidence,
    )
