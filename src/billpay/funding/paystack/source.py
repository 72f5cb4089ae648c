"""Paystack as a ``FundingSource`` (DESIGN §3): one checkout per payment.

``instructions`` initializes a Paystack transaction under the payment's reference
(``references.py``) for its total in kobo, and hands back the checkout URL. A collection is
confirmed by ``collection.py`` (prompted by a ``charge.success`` webhook, or polled), and
refunds are sent by ``refunder.py``; both also run as periodic jobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.config import Settings
from billpay.errors import EmailRequired, FundingRefused, FundingUnavailable
from billpay.funding.base import (
    FundingContext,
    FundingJob,
    FundingOpened,
    FundingWebhook,
    WebhookHint,
)
from billpay.funding.paystack.client import PaystackNotConfigured
from billpay.funding.paystack.collection import confirm_collection, verify_awaiting
from billpay.funding.paystack.connection import connect
from billpay.funding.paystack.references import reference_for
from billpay.funding.paystack.refunder import nudge, run_refunds
from billpay.funding.paystack.transformers import InitializeFailed
from billpay.funding.paystack.webhooks import CHARGE_SUCCESS, parse_event
from billpay.models import Payment
from billpay.payments.schemas import FundingMethod

# How long a checkout stays payable in billpay's eyes (Paystack itself sets no expiry).
# A payment still unpaid after it is expired; money that arrives later is refunded.
PAYMENT_WINDOW = timedelta(minutes=30)


class PaystackFunding:
    """Collects a payment's total through a Paystack checkout."""

    method = FundingMethod.PAYSTACK
    funded_at_create = False

    def __init__(self, settings: Settings) -> None:
        if not settings.paystack_secret_key:
            raise PaystackNotConfigured("PAYSTACK_SECRET_KEY is not set")
        self.settings = settings
        self._secret_key = settings.paystack_secret_key

    async def instructions(self, session: AsyncSession, payment: Payment) -> FundingOpened:
        if not payment.email:
            raise EmailRequired(
                "email: required when funding_method is 'paystack' (Paystack sends the payer "
                "a receipt)",
                details={"field": "email"},
            )
        reference = reference_for(payment.short_id)
        async with connect(self.settings) as paystack:
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
                "method": self.method.value,
                "checkout_url": checkout.authorization_url,
                "reference": reference,
                "amount_kobo": payment.total_kobo,
            },
            expires_at=datetime.now(UTC) + PAYMENT_WINDOW,
        )

    async def confirm(self, context: FundingContext, reference: str, *, actor: str) -> str:
        """Ask ``/transaction/verify`` and act on its verdict (``collection.py``)."""
        return await confirm_collection(context, reference, actor=actor)

    async def refund(self, context: FundingContext, reference: str) -> str:
        """Make the refund's status check due now; the refunder takes it from there."""
        return await nudge(context, reference)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> FundingWebhook:
        """Signature checked on the raw body first (``webhooks.py``)."""
        event = parse_event(body, headers, self._secret_key)
        return FundingWebhook(
            event_id=event.event_id,
            kind=event.event,
            reference=event.reference,
            claimed_status=event.status,
            payload=event.payload,
        )

    def webhook_hint(self, kind: str) -> WebhookHint:
        if kind == CHARGE_SUCCESS:
            return WebhookHint.FUNDS
        if kind.startswith("refund."):
            return WebhookHint.REFUND
        return WebhookHint.NONE

    def periodic_jobs(self) -> tuple[FundingJob, ...]:
        return (verify_awaiting, run_refunds)


def _initialize_error(exc: InitializeFailed) -> FundingRefused | FundingUnavailable:
    status = exc.exchange.http_status
    if status is not None and 400 <= status < 500:
        return FundingRefused(
            f"funding_method: Paystack refused to open a checkout ({exc.reason})",
            details={"field": "funding_method"},
        )
    return FundingUnavailable(
        "funding_method: Paystack could not open a checkout right now; retry shortly",
        details={"field": "funding_method", "retryable": True},
    )
