"""Paystack transaction references of billpay's payments: ``bp-<short id>``.

Unique, and valid both as a Paystack reference and as a URL segment.
"""

from __future__ import annotations

REFERENCE_PREFIX = "bp-"


def reference_for(short_id: str) -> str:
    return f"{REFERENCE_PREFIX}{short_id}"


def short_id_from(reference: str) -> str | None:
    """The payment short id inside one of our references; None for anyone else's."""
    short_id = reference.removeprefix(REFERENCE_PREFIX)
    if short_id == reference or not 0 < len(short_id) <= 16 or not short_id.isalnum():
        return None
    return short_id
