"""When to retry a webhook delivery the client did not acknowledge.

Delays start at one minute and double up to six hours, each spread by ±20 % so deliveries
queued during a client's outage do not all arrive together when it comes back. Retrying
goes on until ``RETRY_WINDOW`` (24 h) after the first attempt, with a last attempt at that
deadline; since every wait is at least 80 % of its step, the number of attempts is bounded
(14 at most). After that the delivery is given up and can only be replayed by hand.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

FIRST_DELAY_SECONDS = 60.0
MAX_DELAY_SECONDS = 6 * 3600.0
JITTER = 0.2
RETRY_WINDOW = timedelta(hours=24)

# Past this many doublings the delay is capped anyway; stopping there keeps 2**n small.
_DOUBLINGS_TO_CAP = math.ceil(math.log2(MAX_DELAY_SECONDS / FIRST_DELAY_SECONDS))


def next_delay_seconds(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 is the first delivery)."""
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    step = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0 ** min(attempt - 1, _DOUBLINGS_TO_CAP))
    # Capping the step before spreading it keeps the jitter alive once the cap is reached.
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return min(MAX_DELAY_SECONDS, step * spread)


def delivery_deadline(first_attempt_at: datetime) -> datetime:
    """The last moment a delivery is attempted: 24 h after its first attempt."""
    return first_attempt_at + RETRY_WINDOW


def next_attempt_at(
    attempt: int,
    first_attempt_at: datetime,
    now: datetime,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to retry after attempt ``attempt`` failed at ``now``; None once the window is spent.

    A retry that would fall after the deadline is pulled back to it, so the last attempt
    happens 24 h after the first rather than some hours later or not at all.
    """
    deadline = delivery_deadline(first_attempt_at)
    if now >= deadline:
        return None
    retry_at = now + timedelta(seconds=next_delay_seconds(attempt, rng))
    return min(retry_at, deadline)
