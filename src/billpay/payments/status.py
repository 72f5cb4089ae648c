"""Payment statuses and the moves allowed between them (DESIGN §2).

A leaf: anything may read the table; only ``lifecycle`` writes ``payments.status``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class Status(enum.StrEnum):
    AWAITING_FUNDS = "awaiting_funds"
    PENDING = "pending"
    PROCESSING = "processing"
    PAID = "paid"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    FAILED = "failed"
    EXPIRED = "expired"
    NEEDS_REVIEW = "needs_review"


ALLOWED: Mapping[Status, frozenset[Status]] = {
    Status.AWAITING_FUNDS: frozenset({Status.PENDING, Status.EXPIRED, Status.REFUNDING}),
    Status.PENDING: frozenset({Status.PROCESSING, Status.REFUNDING, Status.FAILED}),
    Status.PROCESSING: frozenset({Status.PAID, Status.REFUNDING, Status.NEEDS_REVIEW}),
    Status.PAID: frozenset({Status.REFUNDING}),
    Status.REFUNDING: frozenset({Status.REFUNDED, Status.NEEDS_REVIEW}),
    Status.NEEDS_REVIEW: frozenset({Status.PAID, Status.REFUNDING}),
    Status.REFUNDED: frozenset(),
    Status.FAILED: frozenset(),
    Status.EXPIRED: frozenset(),
}

FINAL: frozenset[Status] = frozenset(status for status, moves in ALLOWED.items() if not moves)
# Statuses in which the customer's money is held by billpay (reserved or received, not settled).
HOLDING_FUNDS: frozenset[Status] = frozenset(
    {Status.PENDING, Status.PROCESSING, Status.REFUNDING, Status.NEEDS_REVIEW}
)
