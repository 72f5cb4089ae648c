"""The provider request an attempt sends: built from the payment and the plan's offer."""

from __future__ import annotations

from billpay.catalog.plan import NormalizedPlan, ProviderMeta
from billpay.models import Payment, PaymentAttempt
from billpay.providers.base import (
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
    """The request of an existing attempt: same provider, same reference."""
    offer = _offer(plan, ProviderName(attempt.provider))
    return vend_request(payment, offer, attempt.provider_reference)


def _offer(plan: NormalizedPlan | None, provider: ProviderName) -> ProviderMeta | None:
    if plan is None:
        return None
    return next((offer for offer in plan.provider_meta if offer.provider is provider), None)


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
        # A fixed-price product is sold at the provider's own price (ours is the highest).
        amount_kobo=offer.price_kobo or payment.amount_kobo,
        phone=payment.phone or payment.customer_id,
        email=payment.email,
        subscription_type=(
            SubscriptionType(payment.subscription_type) if payment.subscription_type else None
        ),
    )
