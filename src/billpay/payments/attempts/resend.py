"""What a requery's "no record of this reference" leads to (issue #11): the rule alone, pure.

The provider may still be processing a purchase it has not recorded yet, so nothing is sent
again within the grace period after the last send; after it, the same reference is sent again
(the provider's duplicate-reference guard catches a first send that did arrive), a bounded
number of times, and never past the payment's deadline, which ends in review.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class NotFoundStep(enum.StrEnum):
    RESEND = "resend"  # send the purchase again now, under the same reference
    WAIT = "wait"  # within the grace period: requery when it ends
    REQUERY = "requery"  # out of resends or past the deadline: requery as for any unknown


@dataclass(frozen=True)
class ResendPolicy:
    grace: timedelta
    max_resends: int

    def after_not_found(
        self, *, sends: int, last_sent_at: datetime, now: datetime, deadline_at: datetime | None
    ) -> NotFoundStep:
        """``sends``: the purchase sends recorded on the attempt (a reference is sent at most
        ``1 + max_resends`` times)."""
        if sends >= 1 + self.max_resends or (deadline_at is not None and now >= deadline_at):
            return NotFoundStep.REQUERY
        if now < self.resend_at(last_sent_at):
            return NotFoundStep.WAIT
        return NotFoundStep.RESEND

    def resend_at(self, last_sent_at: datetime) -> datetime:
        return last_sent_at + self.grace
