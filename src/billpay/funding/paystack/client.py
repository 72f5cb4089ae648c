"""HTTP calls to Paystack (providers.md §4). What an answer means is decided in
``transformers.py``; ``providers.http`` sends, times and says whether a failed request left;
this module holds the paths and auth, and records.

Every call yields an ``Exchange`` with the request and response masked through ``redact``,
so the bearer key and card authorizations never reach storage; logs carry only the method,
path, HTTP status and timing.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import httpx

from billpay.config import Settings
from billpay.funding.paystack.transformers import (
    Initialized,
    Refund,
    RefundListing,
    Verification,
    initialize_request,
    initialized_from,
    refund_created_from,
    refund_from,
    refund_request,
    refunds_from,
    validate_reference,
    verification_from,
)
from billpay.funding.paystack.wire import Exchange, Reply
from billpay.providers.http import Answer, HttpxSender, ProviderTransport
from billpay.providers.http import Exchange as HttpExchange
from billpay.redact import redact

DEFAULT_BASE_URL = "https://api.paystack.co"

logger = logging.getLogger(__name__)


class PaystackNotConfigured(RuntimeError):
    """No secret key: Paystack funding is simply not offered."""


class PaystackClient:
    """Paystack's collection and refund API. Owns ``client`` only when it created it."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        if not settings.paystack_secret_key:
            raise PaystackNotConfigured("PAYSTACK_SECRET_KEY is not set")
        self._secret_key = settings.paystack_secret_key
        self._base_url = (settings.paystack_base_url or DEFAULT_BASE_URL).rstrip("/")
        self._http = ProviderTransport(
            "paystack",
            HttpxSender(
                client if client is not None else httpx.AsyncClient(),
                timeout=settings.provider_timeout_seconds,
                owns_client=client is None,
            ),
        )

    async def initialize(
        self,
        reference: str,
        amount_kobo: int,
        email: str,
        callback_url: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Initialized:
        """Raises ``InitializeFailed`` (carrying the masked exchange) when no checkout came back."""
        body = initialize_request(
            reference, amount_kobo, email, callback_url=callback_url, metadata=metadata
        )
        reply = await self._call("POST", "/transaction/initialize", body=body)
        return initialized_from(reference, reply)

    async def verify(self, reference: str) -> Verification:
        reply = await self._call("GET", f"/transaction/verify/{validate_reference(reference)}")
        return verification_from(reference, reply)

    async def create_refund(
        self,
        transaction_reference: str,
        amount_kobo: int | None = None,
        merchant_note: str | None = None,
    ) -> Refund:
        """``amount_kobo`` None refunds the whole transaction.

        A refund with state UNKNOWN may or may not exist: Paystack refunds carry no idempotency
        key, so look with ``list_refunds`` before creating another.
        """
        body = refund_request(transaction_reference, amount_kobo, merchant_note)
        return refund_created_from(await self._call("POST", "/refund", body=body))

    async def fetch_refund(self, refund_id: int) -> Refund:
        return refund_from(await self._call("GET", f"/refund/{int(refund_id)}"))

    async def list_refunds(self, transaction_id: int) -> RefundListing:
        """The refunds of one transaction (its Paystack id, from ``Verification``)."""
        reply = await self._call("GET", "/refund", params={"transaction": str(transaction_id)})
        return refunds_from(reply, transaction_id)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> PaystackClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._secret_key}", "Accept": "application/json"}

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        url = f"{self._base_url}{path}"
        record = _request_record(self._headers(), body, params)
        sent = await self._http.send(method, url, json=body, params=params, headers=self._headers())
        if sent.answer is None:
            exchange = Exchange(
                method=method,
                url=url,
                request=record,
                failure=_failure(sent),
                sent=sent.sent,
                elapsed_ms=sent.elapsed_ms,
            )
            return Reply(exchange)
        parsed, raw_text = _read(sent.answer)
        exchange = Exchange(
            method=method,
            url=url,
            request=record,
            http_status=sent.answer.status,
            response=redact(parsed),
            raw_text=raw_text,
            elapsed_ms=sent.elapsed_ms,
        )
        logger.info(
            "paystack %s %s: HTTP %d in %d ms",
            method,
            path,
            sent.answer.status,
            exchange.elapsed_ms,
        )
        return Reply(exchange, parsed)


def _request_record(
    headers: dict[str, str], body: dict[str, Any] | None, params: dict[str, str] | None
) -> dict[str, Any]:
    record: dict[str, Any] = {"headers": headers}
    if body is not None:
        record["body"] = body
    if params is not None:
        record["params"] = params
    masked: dict[str, Any] = redact(record)
    return masked


def _read(answer: Answer) -> tuple[Any, str | None]:
    """The JSON body, or (None, masked text) when the body is not JSON."""
    try:
        return answer.json(), None
    except ValueError:
        return None, answer.masked_text()


def _failure(sent: HttpExchange) -> str:
    # Class names only: exception messages are not ours to vouch for in stored evidence.
    if isinstance(sent.error, httpx.TimeoutException):
        return "timeout"
    if isinstance(sent.error, httpx.ConnectError):
        return "could not connect"
    return type(sent.error).__name__
