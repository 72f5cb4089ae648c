"""How long a product lasts, read from the provider's field or its name ("1.5GB - 30 days")."""

from __future__ import annotations

import re

from billpay.providers.base import ProviderPlan

HOURS_PER_DAY = 24
MONTH_HOURS = 30 * HOURS_PER_DAY  # "monthly"/"1 month" in a name means 30 days
# A provider stating 28-31 days for a bouquet means the calendar month, not another product.
MONTHLY_BOUQUET_HOURS = range(28 * HOURS_PER_DAY, 31 * HOURS_PER_DAY + 1, HOURS_PER_DAY)

_VALIDITY_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"(?<![\d.])(\d+)\s*-?\s*(?:hours?|hrs?)\b"), 1),
    (re.compile(r"(?<![\d.])(\d+)\s*-?\s*(?:days?|d)\b"), HOURS_PER_DAY),
    (re.compile(r"(?<![\d.])(\d+)\s*-?\s*(?:weeks?|wks?)\b"), 7 * HOURS_PER_DAY),
    (re.compile(r"(?<![\d.])(\d+)\s*-?\s*(?:months?|mths?)\b"), MONTH_HOURS),
)
_VALIDITY_WORDS = re.compile(r"\b(daily|weekly|monthly)\b")
_VALIDITY_WORD_HOURS = {"daily": HOURS_PER_DAY, "weekly": 7 * HOURS_PER_DAY, "monthly": MONTH_HOURS}


def _validity_hours(text: str) -> tuple[set[int], str]:
    """Every validity a name states, in hours, and the name with those phrases removed."""
    lowered = text.lower()
    found: set[int] = set()
    for pattern, hours_per_unit in _VALIDITY_PATTERNS:
        found.update(int(n) * hours_per_unit for n in pattern.findall(lowered))
        lowered = pattern.sub(" ", lowered)
    found.update(_VALIDITY_WORD_HOURS[word] for word in _VALIDITY_WORDS.findall(lowered))
    return found, _VALIDITY_WORDS.sub(" ", lowered)


def plan_validity_hours(plan: ProviderPlan) -> tuple[int | None, bool, str]:
    """(hours, ambiguous, name without validity). A provider's structured field beats the name."""
    stated, rest = _validity_hours(plan.name)
    if plan.validity_days is not None:
        return plan.validity_days * HOURS_PER_DAY, False, rest
    if len(stated) > 1:
        return None, True, rest
    return (stated.pop() if stated else None), False, rest


def validity_days(hours: int | None) -> int | None:
    """Whole days only: a 3-hour bundle has no honest ``validity_days``."""
    if hours is None or hours % HOURS_PER_DAY:
        return None
    return hours // HOURS_PER_DAY


def validity_slug(hours: int) -> str:
    return f"{hours // HOURS_PER_DAY}d" if hours % HOURS_PER_DAY == 0 else f"{hours}h"


def validity_label(hours: int) -> str:
    count, unit = (hours // HOURS_PER_DAY, "day") if hours % HOURS_PER_DAY == 0 else (hours, "hour")
    return f"{count} {unit}" + ("" if count == 1 else "s")
