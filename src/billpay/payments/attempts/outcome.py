"""Where an attempt stands, as stored in ``payment_attempts.outcome``."""

from __future__ import annotations

from enum import StrEnum


class AttemptOutcome(StrEnum):
    """``in_flight`` → ``succeeded`` | ``failed`` | ``unknown`` | ``not_sent`` | ``resend``.

    ``unknown`` is requeried under the same reference until an answer; ``not_sent`` and
    ``resend`` are sent again under the same reference. The values are the stored strings.
    """

    IN_FLIGHT = "in_flight"  # about to be sent, or sent with no answer recorded yet
    NOT_SENT = "not_sent"  # the request provably never left: safe to send again
    # The provider has no record of the reference well after it was sent: send it again
    # (same reference, so a first arrival is caught by the provider's duplicate guard).
    RESEND = "resend"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


# The attempt is (or may be) with the provider: only a requery may ask about it now.
AWAITING_ANSWER = frozenset({AttemptOutcome.IN_FLIGHT, AttemptOutcome.UNKNOWN})
# The attempt is to be sent (again) under its reference.
SEND_AGAIN = frozenset({AttemptOutcome.NOT_SENT, AttemptOutcome.RESEND})
