"""Paystack as a ``FundingSource`` (DESIGN §3): one checkout per payment.

``open`` initializes a Paystack transaction under a reference derived from the payment's short
id (``bp-<short_id>``: unique, and valid as a Paystack reference and a URL segment), for the
payment's total in kobo, and hands back the checkout URL. Confirmation (``collection.py``) and
refunds (``refunder.py``) run later, from webhooks and periodic jobs.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache

import certifi
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.config import Settings
from billpay.errors import ServiceUnavailable, Unprocessable
from billpay.funding.base import FundingOpened, FundingSource
from billpay.funding.paystack.client import PaystackClient, PaystackNotConfigured
from billpay.funding.paystack.transformers import InitializeFailed
from billpay.funding.paystack.webhooks import PaystackEvent, parse_event
from billpay.models import Payment
from billpay.payments.schemas import FundingMethod

# How long a checkout stays payable in billpay's eyes (Paystack itself sets no expiry).
# A payment still unpaid after it is expired; money that arrives later is refunded.
PAYMENT_WINDOW = timedelta(minutes=30)
REFERENCE_PREFIX = "bp-"


def reference_for(short_id: str) -> str:
    return f"{REFERENCE_PREFIX}{short_id}"


def short_id_from(reference: str) -> str | None:
    """The payment short id inside one of our references; None for anyone else's."""
    short_id = reference.removeprefix(REFERENCE_PREFIX)
    if short_id == reference or not 0 < len(short_id) <= 16 or not short_id.isalnum():
        return None
    return short_id


@cache
def _tls() -> ssl.SSLContext:
    # Built once: loading the CA bundle costs tens of milliseconds per HTTP client otherwise.
    return ssl.create_default_context(cafile=certifi.where())


class PaystackFunding:
    """Collects a payment's total through a Paystack checkout."""

    method = FundingMethod.PAYSTACK.value

    def __init__(self, settings: Settings) -> None:
        if not settings.paystack_secret_key:
            raise PaystackNotConfigured("PAYSTACK_SECRET_KEY is not set")
        self.settings = settings
        self._secret_key = settings.paystack_secret_key

    @asynccontextmanager
    async def client(self) -> AsyncIterator[PaystackClient]:
        """A Paystack client for one call or one batch, closed afterwards."""
        async with httpx.AsyncClient(verify=_tls()) as http:
            yield PaystackClient(self.settings, http)

    async def open(self, session: AsyncSession, payment: Payment) -> FundingOpened:
        if not payment.email:
            raise Unprocessable(
                "email: required when funding_method is 'paystack' (Paystack sends the payer "
                "a receipt)",
                code="email_required",
                details={"field": "email"},
            )
        reference = reference_for(payment.short_id)
        async with self.client() as paystack:
            try:
                checkout = await paystack.initialize(
                    reference,
                    payment.total_kobo,
                    payment.email,
                    metadata={"billpay_payment": payment.short_id},
                )
            except InitializeFailed as exc:
                raise _initialize_error(exc) from None
        return FundingOpened(
            instructions={
                "method": self.method,
                "checkout_url": checkout.authorization_url,
                "reference": reference,
                "amount_kobo": payment.total_kobo,
            },
            expires_at=datetime.now(UTC) + PAYMENT_WINDOW,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> PaystackEvent:
        """A verified event or ``PaystackWebhookRejected`` (signature checked on the raw body)."""
        return parse_event(body, headers, self._secret_key)


def configured(sources: Mapping[FundingMethod, FundingSource]) -> PaystackFunding | None:
    """The Paystack source of this process, when Paystack is configured."""
    source = sources.get(FundingMethod.PAYSTACK)
    return source if isinstance(source, PaystackFunding) else None


def _initialize_error(exc: InitializeFailed) -> Unprocessable | ServiceUnavailable:
    status = exc.exchange.http_status
    if status is not None and 400 <= status < 500:
        return Unprocessable(
            f"funding_method: Paystack refused to open a checkout ({exc.reason})",
            code="funding_refused",
            details={"field": "funding_method"},
        )
    return ServiceUnavailable(
        "funding_method: Paystack could not open a checkout right now; retry shortly",
        code="funding_unavailable",
        details={"field": "funding_method", "retryable": True},
    )
