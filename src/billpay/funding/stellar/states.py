"""The states of a Stellar deposit and of a Stellar refund (stored as lower-case strings)."""

from __future__ import annotations

import enum


class DepositState(enum.StrEnum):
    """What became of one incoming payment operation."""

    FUNDED = "funded"  # exactly the payment's total: the payment is funded
    FUNDED_OVERPAID = "funded_overpaid"  # funded; the excess is being sent back
    EXCESS_REFUNDED = "excess_refunded"  # funded; the excess went back
    REFUND_PENDING = "refund_pending"  # never vended: everything is being sent back
    REFUNDED = "refunded"  # the money went back (the whole deposit, or after a failed vend)
    QUARANTINED = "quarantined"  # no automatic way back: an operator decides, with the evidence


class RefundStatus(enum.StrEnum):
    QUEUED = "queued"  # decided, no envelope yet
    SUBMITTING = "submitting"  # envelope signed and stored; not known to be applied
    SUCCEEDED = "succeeded"  # applied successfully on the ledger
    QUARANTINED = "quarantined"  # failed in a way a new envelope would repeat: an operator decides


# Refund rows the refunder still has to drive.
OPEN_REFUNDS = (RefundStatus.QUEUED.value, RefundStatus.SUBMITTING.value)
