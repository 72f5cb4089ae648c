"""The provider request an attempt sends: built from the payment and the plan's offer."""

from __future__ import annotations

from dataclasses import replace

from billpay.catalog.plan import NormalizedPlan, ProviderMeta
from billpay.models import Payment, PaymentAttempt
from billpay.providers.base import (
    RENEWS_TV_SUBSCRIPTIONS,
    BillType,
    MeterType,
    ProviderName,
    ProviderProduct,
    SubscriptionType,
    VendRequest,
)


def vend_request_for(
    payment: Payment, plan: NormalizedPlan | None, attempt: PaymentAttempt
) -> VendRequest:
    """The request of an existing attempt: same provider, same reference, same amount (a
    catalog sync since the attempt was made must not change what a resend asks for)."""
    offer = _offer(plan, ProviderName(attempt.provider))
    request = vend_request(payment, offer, attempt.provider_reference)
    if attempt.amount_kobo is None:  # an attempt made before amounts were recorded
        return request
    return replace(request, amount_kobo=attempt.amount_kobo)


def _offer(plan: NormalizedPlan | None, provider: ProviderName) -> ProviderMeta | None:
    if plan is None:
        return None
    return next((offer for offer in plan.provider_meta if offer.provider is provider), None)


def sale_plan(plan: NormalizedPlan | None, payment: Payment) -> NormalizedPlan | None:
    """The plan as this payment may be sold. A renewal goes only to providers that document
    renewals, at the renewal amount the payer was charged — never a bouquet's list price, which
    promos make differ (providers.md §1.5) — so its offers carry no price of their own."""
    if plan is None or payment.subscription_type != SubscriptionType.RENEW:
        return plan
    offers = tuple(
        replace(offer, price_kobo=None)
        for offer in plan.provider_meta
        if offer.provider in RENEWS_TV_SUBSCRIPTIONS
    )
    return replace(plan, provider_meta=offers)


def provider_amount(payment: Payment, offer: ProviderMeta) -> int:
    """What the provider is asked to take: a fixed-price product at the provider's own price
    (the payer pays the plan's advertised price; the ledger books the difference), any other
    at the amount requested."""
    return offer.price_kobo or payment.amount_kobo


def vend_request(payment: Payment, offer: ProviderMeta | None, reference: str) -> VendRequest:
    """The request selling ``payment`` through ``offer`` under ``reference``."""
    if offer is None:
        raise LookupError(f"plan {payment.plan} has no offer for this provider any more")
    meter = payment.meter_type or (offer.meter_type.value if offer.meter_type else None)
    return VendRequest(
        reference=reference,
        product=ProviderProduct(
            bill_type=BillType(payment.bill_type),
            biller_code=offer.biller_code,
            plan_code=offer.plan_code,
            meter_type=MeterType(meter) if meter else None,
        ),
        customer_id=payment.customer_id,
        amount_kobo=provider_amount(payment, offer),
        phone=payment.phone or payment.customer_id,
        email=payment.email,
        subscription_type=(
            SubscriptionType(payment.subscription_type) if payment.subscription_type else None
        ),
    )
