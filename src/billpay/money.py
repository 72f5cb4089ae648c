"""Money is integer kobo everywhere inside billpay.

Conversions to a provider's unit happen only at that provider's edge, through these
functions, with ``Decimal``. An inexact conversion is an error, never a rounding.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

KOBO_PER_NAIRA = 100
STROOPS_PER_UNIT = 10_000_000
# 1 cNGN = 1 NGN = 100 kobo, and one cNGN unit is 10^7 stroops, so one kobo is 10^5 stroops.
STROOPS_PER_KOBO = STROOPS_PER_UNIT // KOBO_PER_NAIRA


class InexactAmountError(ValueError):
    """An amount that cannot be represented exactly in kobo."""


def _to_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, bool | float):
        raise TypeError("money is never a float or bool")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise InexactAmountError(f"not a number: {value!r}") from exc
    if not amount.is_finite():
        raise InexactAmountError(f"not a finite amount: {value!r}")
    return amount


def naira_to_kobo(naira: Decimal | int | str) -> int:
    """``"1000.00"`` → ``100000``. Raises when the value has fractions of a kobo."""
    kobo = _to_decimal(naira) * KOBO_PER_NAIRA
    if kobo != kobo.to_integral_value():
        raise InexactAmountError(f"{naira!r} naira is not a whole number of kobo")
    return int(kobo)


def kobo_to_naira(kobo: int) -> Decimal:
    """``100000`` → ``Decimal("1000.00")`` (exact, two places)."""
    return (Decimal(kobo) / KOBO_PER_NAIRA).quantize(Decimal("0.01"))


def kobo_to_naira_number(kobo: int) -> int | Decimal:
    """For JSON bodies that take naira as a number: an int when whole, else two-place Decimal."""
    if kobo % KOBO_PER_NAIRA == 0:
        return kobo // KOBO_PER_NAIRA
    return kobo_to_naira(kobo)


def stellar_to_kobo(amount: str) -> int:
    """A Horizon 7-decimal string (``"5030.0000000"``) → kobo. Sub-kobo amounts are rejected."""
    value = _to_decimal(amount)
    if value.as_tuple().exponent < -7:  # type: ignore[operator]
        raise InexactAmountError(f"{amount!r} has more than 7 decimal places")
    return naira_to_kobo(value)


def kobo_to_stellar(kobo: int) -> str:
    """kobo → a Horizon/stellar-sdk amount string with exactly 7 decimals."""
    if kobo < 0:
        raise InexactAmountError("negative amount")
    # format(…, "f"): str() would write zero as "0E-7", which Horizon does not accept.
    return format((Decimal(kobo) / KOBO_PER_NAIRA).quantize(Decimal("0.0000001")), "f")


def stellar_floor_kobo(amount: str) -> int:
    """The whole kobo contained in a received amount (used to refund no more than was received)."""
    value = _to_decimal(amount) * KOBO_PER_NAIRA
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def naira_floor_kobo(naira: Decimal | int | str) -> int:
    """The whole kobo in a provider's reported balance (a float check must not overstate it)."""
    value = _to_decimal(naira) * KOBO_PER_NAIRA
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def format_naira(kobo: int) -> str:
    """``503000`` → ``"₦5,030"``; ``50050`` → ``"₦500.50"``. For people, never for wires."""
    naira = kobo_to_naira(kobo)
    if naira == naira.to_integral_value():
        return f"₦{int(naira):,}"
    return f"₦{naira:,.2f}"
