"""VTpass over HTTP (providers.md §1).

This module holds VTpass's paths and auth headers: wire shapes live in ``wire``, every decision
in ``transformers``, and ``providers.http`` sends. A purchase whose answer is missing, 5xx or
unreadable is UNKNOWN (requery the same request_id); only a request the transport proves never
left is reported with ``sent=False``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
import structlog

from billpay.config import Settings
from billpay.providers.base import (
    BillType,
    CustomerValidation,
    Outcome,
    ProviderError,
    ProviderName,
    ProviderPlan,
    ProviderProduct,
    ValidationStatus,
    VendRequest,
    VendResult,
    WebhookEvent,
)
from billpay.providers.http import Answer, Exchange, ProviderTransport
from billpay.providers.vtpass import transformers, webhooks, wire
from billpay.providers.vtpass.transformers import JsonBody, UnsellableProduct

log = structlog.get_logger(__name__)

CATALOG_CONCURRENCY = 8
# VTpass verifies meters and smartcards; phone numbers are only checked for shape by billpay.
PHONE_BILL_TYPES = frozenset({BillType.AIRTIME, BillType.DATA})

Classifier = Callable[[int | None, Any], VendResult]


class VTpassConnector:
    """The ``BillProvider`` for VTpass. ``vtpass_base_url`` is the API root (``…/api``)."""

    name: ProviderName = ProviderName.VTPASS

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._api_root = _required(settings.vtpass_base_url, "VTPASS_BASE_URL").rstrip("/")
        api_key = _required(settings.vtpass_api_key, "VTPASS_API_KEY")
        self._post_headers = {
            "api-key": api_key,
            "secret-key": _required(settings.vtpass_secret_key, "VTPASS_SECRET_KEY"),
            "content-type": "application/json",
        }
        # Only the catalog GETs need the public key; without it they fail, purchases still work.
        self._get_headers = {"api-key": api_key}
        if settings.vtpass_public_key:
            self._get_headers["public-key"] = settings.vtpass_public_key
        self._webhook_token = settings.vtpass_webhook_token
        self._http = ProviderTransport.for_provider(self.name, settings, client)

    def new_reference(self, now: datetime) -> str:
        return transformers.new_request_id(now)

    # --- purchases ---------------------------------------------------------------------------

    async def pay(self, request: VendRequest) -> VendResult:
        try:
            body = transformers.purchase_body(request)
        except UnsellableProduct as exc:
            return VendResult(
                outcome=Outcome.FAILED, provider_status="unsellable", message=str(exc), sent=False
            )
        return await self._vend_call("pay", body, request.reference, transformers.classify_purchase)

    async def requery(self, request: VendRequest) -> VendResult:
        body = transformers.requery_body(request.reference)
        return await self._vend_call(
            "requery", body, request.reference, transformers.classify_requery
        )

    async def _vend_call(
        self, path: str, body: JsonBody, reference: str, classify: Classifier
    ) -> VendResult:
        evidence = {"method": "POST", "path": path, "body": transformers.evidence(body)}
        exchange = await self._post(path, body)
        if exchange.answer is None:
            result = _transport_unknown(exchange)
        else:
            result = _classified(exchange.answer, reference, classify)
        result = replace(result, request=evidence)
        log.info(
            "vtpass call",
            path=path,
            reference=reference,
            outcome=result.outcome.value,
            provider_status=result.provider_status,
            http_status=result.http_status,
            sent=result.sent,
        )
        return result

    # --- customers ---------------------------------------------------------------------------

    async def validate_customer(
        self, product: ProviderProduct, customer_id: str
    ) -> CustomerValidation:
        if product.bill_type in PHONE_BILL_TYPES:
            return CustomerValidation(
                ValidationStatus.VALID, message="VTpass does not verify phone numbers"
            )
        try:
            body = transformers.verify_body(product, customer_id)
        except UnsellableProduct as exc:
            return CustomerValidation(ValidationStatus.INVALID, message=str(exc))
        exchange = await self._post("merchant-verify", body)
        if exchange.answer is None:
            return CustomerValidation(
                ValidationStatus.UNAVAILABLE, message=f"VTpass unreachable: {exchange.problem}"
            )
        return transformers.classify_verification(exchange.answer.status, exchange.answer.body)

    # --- catalog -----------------------------------------------------------------------------

    async def catalog(self) -> list[ProviderPlan]:
        """service-categories → services → service-variations (data and TV only)."""
        identifiers = transformers.catalog_categories(await self._get_json("service-categories"))
        limiter = asyncio.Semaphore(CATALOG_CONCURRENCY)
        service_lists = await asyncio.gather(
            *(self._services(identifier, limiter) for identifier in identifiers)
        )
        services = [service for services in service_lists for service in services]
        plan_lists = await asyncio.gather(*(self._plans(service, limiter) for service in services))
        return [plan for plans in plan_lists for plan in plans]

    async def _services(self, identifier: str, limiter: asyncio.Semaphore) -> list[wire.Service]:
        async with limiter:
            body = await self._get_json("services", {"identifier": identifier})
        return transformers.catalog_services(body)

    async def _plans(self, service: wire.Service, limiter: asyncio.Semaphore) -> list[ProviderPlan]:
        if not transformers.needs_variations(service):
            return transformers.flexible_plans(service)
        async with limiter:
            body = await self._get_json(
                "service-variations", {"serviceID": service.service_id or ""}
            )
        return transformers.variation_plans(service, body)

    async def _get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        exchange = await self._http.send(
            "GET", self._url(path), params=params, headers=self._get_headers
        )
        if exchange.answer is None:
            raise ProviderError(f"VTpass {path}: {exchange.problem}") from exchange.error
        body = exchange.answer.json_object
        if exchange.answer.status != httpx.codes.OK or body is None:
            raise ProviderError(f"VTpass {path}: HTTP {exchange.answer.status}, no JSON object")
        return body

    # --- float -------------------------------------------------------------------------------

    async def balance_kobo(self) -> int:
        """The VTpass wallet the purchases are paid from (``GET balance``)."""
        exchange = await self._http.send("GET", self._url("balance"), headers=self._get_headers)
        if exchange.answer is None:
            raise ProviderError(f"VTpass balance: {exchange.problem}") from exchange.error
        return transformers.balance_kobo(exchange.answer.status, exchange.answer.json_object)

    # --- webhooks and lifecycle --------------------------------------------------------------

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, path_token: str | None
    ) -> WebhookEvent:
        """VTpass sends no signature header; the secret is the token in the callback path."""
        return webhooks.parse_webhook(body, path_token, self._webhook_token)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- HTTP --------------------------------------------------------------------------------

    async def _post(self, path: str, body: JsonBody) -> Exchange:
        return await self._http.send(
            "POST",
            self._url(path),
            content=transformers.encode_json(body),
            headers=self._post_headers,
        )

    def _url(self, path: str) -> str:
        return f"{self._api_root}/{path}"


def _classified(answer: Answer, reference: str, classify: Classifier) -> VendResult:
    """Classify, then attach the masked evidence; a body that is not JSON is kept as text."""
    result = _guard_reference(classify(answer.status, answer.body), answer, reference)
    response = answer.masked_object()
    return replace(
        result,
        http_status=answer.status,
        response=response,
        raw_text=None if response is not None else answer.masked_text(),
    )


def _guard_reference(result: VendResult, answer: Answer, reference: str) -> VendResult:
    """An answer about another request_id proves nothing about ours."""
    body = answer.json_object or {}
    answered = body.get("requestId")
    if answered is None or str(answered) == reference:
        return result
    return VendResult(
        outcome=Outcome.UNKNOWN,
        provider_status=result.provider_status,
        message=f"VTpass answered about request_id {answered!r}, not ours: requery",
    )


def _transport_unknown(exchange: Exchange) -> VendResult:
    if exchange.sent:
        status, qualifier = "no_answer", "sent, outcome unknown"
    else:
        status, qualifier = "not_sent", "never sent"
    return VendResult(
        outcome=Outcome.UNKNOWN,
        provider_status=status,
        message=f"{exchange.problem}: {qualifier}, requery",
        sent=exchange.sent,
    )


def _required(value: str | None, env_name: str) -> str:
    if not value:
        raise ValueError(f"VTpass is not configured: {env_name} is missing")
    return value
