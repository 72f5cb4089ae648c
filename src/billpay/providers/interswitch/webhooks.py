"""Interswitch sends no webhook for VAS bill payments, so every inbound call is rejected.

Interswitch's webhooks (``TRANSACTION.*``, ``SUBSCRIPTION.*``, ``PAYMENT_LINK.*``, ``INVOICE.*``)
belong to Quickteller Business *collections*; none was found for bill payments (providers.md
§3.7). A request claiming to be one is therefore not from Interswitch about a bill, and acting on
it could only be wrong: bill outcomes come from requerying ``GET /Transactions?requestRef=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from billpay.providers.base import WebhookRejected

NO_BILL_WEBHOOKS = "interswitch sends no bill-payment webhooks"


def parse_webhook(headers: Mapping[str, str], body: bytes, path_token: str | None) -> NoReturn:
    """Always raises ``WebhookRejected`` (404): there is no Interswitch bill webhook to accept."""
    raise WebhookRejected(NO_BILL_WEBHOOKS, status_code=404)
