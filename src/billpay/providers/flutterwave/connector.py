"""The Flutterwave v3 Bills connector: paths and auth; ``providers.http`` sends, and every
decision is in ``transformers``."""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

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
    VendRequest,
    VendResult,
    WebhookEvent,
)
from billpay.providers.flutterwave import transformers as tf
from billpay.providers.flutterwave.webhooks import FlutterwaveWebhooks
from billpay.providers.flutterwave.wire import (
    COUNTRY,
    CURRENCY,
    BillCategory,
    Biller,
    BillItem,
    HttpAnswer,
    NoAnswer,
    decode_json,
    encode_json,
)
from billpay.providers.http import Exchange, ProviderTransport
from billpay.redact import mask_text

log = structlog.get_logger(__name__)


class FlutterwaveConnector:
    name = ProviderName.FLUTTERWAVE

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient | None = None,
        *,
        callback_url: str | None = None,
        accept_hmac_signature: bool = False,
    ) -> None:
        """``accept_hmac_signature`` turns on the UNCONFIRMED ``flutterwave-signature`` scheme."""
        if not settings.flutterwave_base_url or not settings.flutterwave_secret_key:
            raise ValueError("Flutterwave needs FLUTTERWAVE_BASE_URL and FLUTTERWAVE_SECRET_KEY")
        self._root = _api_root(settings.flutterwave_base_url)
        self._secret_key = settings.flutterwave_secret_key
        self._legacy = settings.flutterwave_use_legacy_bills
        self._callback_url = callback_url
        self._webhooks = FlutterwaveWebhooks(
            settings.flutterwave_secret_hash, accept_hmac_signature=accept_hmac_signature
        )
        self._http = ProviderTransport.for_provider(self.name, settings, client)
        # Biller code → its items, for the legacy create, which names items rather than codes.
        self._items: dict[str, list[BillItem]] = {}

    def new_reference(self, now: datetime) -> str:
        """``BP-20240324-qhxwtbmzkdrpaevc``: dated for people, 16 random letters (75 bits).

        Letters only: a digit run joined to the date (``20240324-2565402228…``) would look like
        an electricity token to ``redact`` and be masked out of the stored evidence.
        """
        random_part = "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))
        return f"BP-{now:%Y%m%d}-{random_part}"

    # --- catalog -------------------------------------------------------------------------------

    async def catalog(self) -> list[ProviderPlan]:
        answer = await self._call("GET", "/v3/top-bill-categories", params={"country": COUNTRY})
        categories = tf.parsed(BillCategory, tf.listed(answer, "bill categories"))
        sold = [
            (category, bill_type)
            for category in categories
            if (bill_type := tf.bill_type_for_category(category)) is not None
        ]
        per_category = await asyncio.gather(*(self._category_plans(*each) for each in sold))
        return [plan for plans in per_category for plan in plans]

    async def _category_plans(
        self, category: BillCategory, bill_type: BillType
    ) -> list[ProviderPlan]:
        path = f"/v3/bills/{_segment(category.code)}/billers"
        answer = await self._call("GET", path, params={"country": COUNTRY})
        billers = tf.parsed(Biller, tf.listed(answer, f"{category.code} billers"))
        per_biller = await asyncio.gather(*(self._raw_items(b.biller_code) for b in billers))
        return [
            plan
            for biller, raw_items in zip(billers, per_biller, strict=True)
            for plan in tf.plans_for_biller(bill_type, biller, raw_items)
        ]

    async def _raw_items(self, biller_code: str) -> list[Mapping[str, Any]]:
        answer = await self._call("GET", f"/v3/billers/{_segment(biller_code)}/items")
        raw_items = tf.listed(answer, f"{biller_code} items")
        self._items[biller_code] = tf.parsed(BillItem, raw_items)
        return raw_items

    # --- validate ------------------------------------------------------------------------------

    async def validate_customer(
        self, product: ProviderProduct, customer_id: str
    ) -> CustomerValidation:
        path = f"/v3/bill-items/{_segment(product.plan_code)}/validate"
        params = {"code": product.biller_code, "customer": customer_id}
        return tf.validation_result(await self._call("GET", path, params=params))

    # --- pay / requery -------------------------------------------------------------------------

    async def pay(self, request: VendRequest) -> VendResult:
        if self._legacy:
            return await self._pay_legacy(request)
        product = request.product
        path = (
            f"/v3/billers/{_segment(product.biller_code)}"
            f"/items/{_segment(product.plan_code)}/payment"
        )
        return await self._create(request, path, tf.create_body(request, self._callback_url))

    async def _pay_legacy(self, request: VendRequest) -> VendResult:
        try:
            item = await self._item(request.product)
        except ProviderError as exc:
            # Nothing was sent: the worker may send again under the same reference.
            return _not_sent(Outcome.UNKNOWN, f"item lookup before the legacy create: {exc}")
        if item is None:
            return _not_sent(Outcome.FAILED, f"{request.product.plan_code} is not sold")
        return await self._create(request, "/v3/bills", tf.legacy_create_body(request, item))

    async def _item(self, product: ProviderProduct) -> BillItem | None:
        if product.biller_code not in self._items:
            await self._raw_items(product.biller_code)
        items = self._items[product.biller_code]
        return next((item for item in items if item.item_code == product.plan_code), None)

    async def _create(self, request: VendRequest, path: str, body: dict[str, Any]) -> VendResult:
        answer = await self._call("POST", path, body=body)
        evidence = {"method": "POST", "path": path, "body": body}
        result = tf.create_result(answer, evidence, request.reference)
        _log_vend("flutterwave.pay", request, result)
        return result

    async def requery(self, request: VendRequest) -> VendResult:
        # Our reference, not Flutterwave's tx_ref: it is the one key we hold from before the call.
        path = f"/v3/bills/{_segment(request.reference)}"
        params = {"verbose": "1"}
        answer = await self._call("GET", path, params=params)
        evidence = {"method": "GET", "path": path, "params": params}
        result = tf.lookup_result(answer, evidence, request.reference)
        _log_vend("flutterwave.requery", request, result)
        return result

    # --- float ---------------------------------------------------------------------------------

    async def balance_kobo(self) -> int:
        """The naira wallet bills are paid from (``GET /v3/balances/NGN``)."""
        return tf.balance_kobo(await self._call("GET", f"/v3/balances/{CURRENCY}"))

    # --- webhooks / lifecycle ------------------------------------------------------------------

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, path_token: str | None
    ) -> WebhookEvent:
        """Flutterwave signs with a header; ``path_token`` is not used."""
        return self._webhooks.parse(headers, body)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- HTTP ----------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> HttpAnswer:
        headers = {"Authorization": f"Bearer {self._secret_key}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        exchange = await self._http.send(
            method,
            self._root + path,
            params=params,
            content=encode_json(body) if body is not None else None,
            headers=headers,
        )
        return _answer(exchange)


def _answer(exchange: Exchange) -> HttpAnswer:
    answer = exchange.answer
    if answer is None:
        return HttpAnswer(failure=_failure(exchange))
    try:
        body = decode_json(answer.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        return HttpAnswer(http_status=answer.status, body=body)
    return HttpAnswer(http_status=answer.status, text=tf.readable_text(answer.content))


def _failure(exchange: Exchange) -> NoAnswer:
    if not exchange.sent:
        return "connect-error"
    if exchange.timed_out:
        return "timeout"
    return "transport-error"


def _not_sent(outcome: Outcome, message: str) -> VendResult:
    return VendResult(outcome=outcome, provider_status="not-sent", message=message, sent=False)


def _api_root(base_url: str) -> str:
    """Accept both ``https://api.flutterwave.com`` (the seed) and ``…/v3`` (providers.md)."""
    root = base_url.rstrip("/")
    return root.removesuffix("/v3")


def _segment(value: str) -> str:
    return quote(value, safe="")


def _log_vend(event: str, request: VendRequest, result: VendResult) -> None:
    # Outcome and ids only: bodies carry tokens and customer details.
    log.info(
        event,
        reference=request.reference,
        outcome=result.outcome.value,
        provider_status=result.provider_status,
        http_status=result.http_status,
        provider_transaction_id=result.provider_transaction_id,
        sent=result.sent,
        message=mask_text(result.message),
    )
