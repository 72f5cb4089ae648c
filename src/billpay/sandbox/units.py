"""Naira and kobo for the simulators, with ``Decimal`` (providers.md §6.7).

The simulators keep their own conversions on purpose: a simulator that borrowed billpay's would
share any misreading of a provider's units, and every test against it would still pass.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

KOBO_PER_NAIRA = 100


class NotWholeKobo(ValueError):
    """A naira amount that is not a number, or not a whole number of kobo (``"10.005"``)."""


def kobo_from_naira(naira: int | str | Decimal) -> int:
    """``"1000.00"``, ``1000`` or ``Decimal("1000")`` naira → ``100000`` kobo; never rounded."""
    if isinstance(naira, bool | float):
        raise TypeError(f"a naira amount is never a {type(naira).__name__}")
    try:
        value = Decimal(naira.strip() if isinstance(naira, str) else naira)
    except InvalidOperation as exc:
        raise NotWholeKobo(f"not a number: {naira!r}") from exc
    if not value.is_finite():
        raise NotWholeKobo(f"not a finite amount: {naira!r}")
    kobo = value * KOBO_PER_NAIRA
    if kobo != kobo.to_integral_value():
        raise NotWholeKobo(f"{naira!r} naira has a fraction of a kobo")
    return int(kobo)


def naira_from_kobo(kobo: int) -> Decimal:
    """``100000`` → ``Decimal("1000.00")``: always two places."""
    return Decimal(kobo).scaleb(-2)


def naira_number(kobo: int) -> int | Decimal:
    """Naira for a JSON number field: ``1800`` when whole, ``Decimal("500.50")`` otherwise."""
    whole, fraction = divmod(kobo, KOBO_PER_NAIRA)
    return whole if fraction == 0 else naira_from_kobo(kobo)


def naira_for_people(kobo: int) -> str:
    """``503000`` → ``"₦5,030"``, ``50050`` → ``"₦500.50"``: for pages, never for a wire."""
    whole, fraction = divmod(kobo, KOBO_PER_NAIRA)
    return f"₦{whole:,}" if fraction == 0 else f"₦{whole:,}.{fraction:02d}"
