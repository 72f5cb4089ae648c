"""Codes an operator can get acting on a payment or a delivery."""

from __future__ import annotations

from billpay.errors.base import Conflict, Unprocessable


class NotInReview(Unprocessable):
    """A review outcome is given for a payment that is not in needs_review."""

    code = "not_in_review"


class ReasonRequired(Unprocessable):
    """A review outcome is given without saying what was verified."""

    code = "reason_required"


class NeverSentToProvider(Unprocessable):
    """A payment no provider was ever asked to vend is marked paid."""

    # The same code as NoProvider (a 503) since before errors had classes; clients may match it.
    code = "no_provider"


class InvalidOutcome(Unprocessable):
    """A review outcome is neither 'paid' nor 'refund'."""

    code = "invalid_outcome"


class NotPaid(Unprocessable):
    """A delivery is rechecked for a payment that is not paid."""

    code = "not_paid"


class AlreadyDelivered(Conflict):
    """A payer notification that was delivered is replayed: payers hear once per outcome."""

    code = "already_delivered"
