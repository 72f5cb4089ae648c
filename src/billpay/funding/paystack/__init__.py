"""Paystack as a funding source: collect with a checkout, confirm, refund (DESIGN §3).

``PaystackClient`` makes the calls, ``judge_collection`` and ``refund_state`` decide what the
answers mean, and ``parse_event`` reads signed webhooks.
"""

from billpay.funding.paystack.client import DEFAULT_BASE_URL, PaystackClient, PaystackNotConfigured
from billpay.funding.paystack.transformers import (
    Collection,
    CollectionVerdict,
    Initialized,
    InitializeFailed,
    InvalidReference,
    Refund,
    RefundListing,
    RefundState,
    Verification,
    VerifyAnswer,
    judge_collection,
    refund_state,
    validate_reference,
)
from billpay.funding.paystack.webhooks import (
    CHARGE_SUCCESS,
    SIGNATURE_HEADER,
    PaystackEvent,
    PaystackWebhookRejected,
    parse_event,
    verify_signature,
)
from billpay.funding.paystack.wire import Exchange

__all__ = [
    "CHARGE_SUCCESS",
    "DEFAULT_BASE_URL",
    "SIGNATURE_HEADER",
    "Collection",
    "CollectionVerdict",
    "Exchange",
    "InitializeFailed",
    "Initialized",
    "InvalidReference",
    "PaystackClient",
    "PaystackEvent",
    "PaystackNotConfigured",
    "PaystackWebhookRejected",
    "Refund",
    "RefundListing",
    "RefundState",
    "Verification",
    "VerifyAnswer",
    "judge_collection",
    "parse_event",
    "refund_state",
    "validate_reference",
    "verify_signature",
]
