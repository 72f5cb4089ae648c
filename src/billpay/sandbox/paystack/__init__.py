"""Paystack simulator: collections, checkout, refunds, signed webhooks and faults."""

from billpay.sandbox.paystack.app import DEFAULT_SECRET_KEY, WebhookOutbox, create_app
from billpay.sandbox.paystack.state import (
    DeliveryAttempt,
    Faults,
    PaystackSandboxState,
    WebhookConfig,
)

__all__ = [
    "DEFAULT_SECRET_KEY",
    "DeliveryAttempt",
    "Faults",
    "PaystackSandboxState",
    "WebhookConfig",
    "WebhookOutbox",
    "create_app",
]
