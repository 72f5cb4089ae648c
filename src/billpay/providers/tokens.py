"""Electricity tokens and units as the providers write them → digits and kWh.

Every provider puts a vended token somewhere different and dresses it differently
(providers.md §1.5, §2.4, §3.4): VTpass's IKEDC answers ``"token": "Token : 2636…"``, Eko puts a
``bonusToken`` beside ``mainToken`` and both in ``purchased_code`` (``"Token : 4216… Bonus
Token : 6288…"``), Interswitch writes ``RechargePIN``/``MiscData`` text, grouped or not. One
reading for all of them: a token is a run of 16–24 digits, possibly grouped by single spaces or
dashes, with any label in front of it stripped; a run labelled "bonus" is a bonus token; the
first other run is the main token; nothing found is never dropped silently — every distinct run
is kept, as the main token or a bonus one. Stored and shown as digits only; the provider's raw
string stays in the call record (masked).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# A bare 16–24 digit run, grouped by single spaces or dashes at most: "4216 7939 7812 0661 9049".
_TOKEN = re.compile(
    r"(?:(?P<label>(?P<bonus>bonus\s*)?token)\s*(?:no\.?|number)?\s*[:=]?\s*)?"
    r"(?<![\d])(?P<digits>\d(?:[ -]?\d){15,23})(?![\d])",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[ -]")
# Units: a plain number, or a number marked kWh / labelled "units". At most 12 integer digits,
# so a bare token (16+ digits) is never read as an amount of energy.
_NUMBER = r"(?<![\d.])(\d{1,12}(?:\.\d+)?)(?![\d])"
_PLAIN_NUMBER = re.compile(rf"\s*{_NUMBER}\s*(?:kwh)?\s*", re.IGNORECASE)
_MARKED_NUMBER = re.compile(rf"units?\s*[:=]?\s*{_NUMBER}|{_NUMBER}\s*kwh", re.IGNORECASE)


@dataclass(frozen=True)
class Tokens:
    """The tokens of one vend: the main one, and every bonus one (e.g. Eko's FBE token)."""

    main: str | None = None
    bonus: tuple[str, ...] = ()


def read_tokens(*texts: str | None, bonus_texts: Iterable[str | None] = ()) -> Tokens:
    """The tokens in ``texts`` (in trust order) and ``bonus_texts`` (fields that hold only bonus
    tokens, such as VTpass's ``bonusToken``). The same digits seen twice count once."""
    found = [(digits, bonus) for text in texts for digits, bonus in _runs(text)]
    found += [(digits, True) for text in bonus_texts for digits, _ in _runs(text)]
    main = next((digits for digits, bonus in found if not bonus), None)
    extras: list[str] = []
    for digits, _ in found:
        if digits != main and digits not in extras:
            extras.append(digits)
    return Tokens(main, tuple(extras))


def token_digits(text: str | None) -> str | None:
    """The first token in ``text`` as digits only (``"Token : 2636 2054…"`` → ``"26362054…"``)."""
    tokens = read_tokens(text)
    return tokens.main or next(iter(tokens.bonus), None)


def _runs(text: str | None) -> list[tuple[str, bool]]:
    if not text:
        return []
    return [
        (_SEPARATORS.sub("", match["digits"]), match["bonus"] is not None)
        for match in _TOKEN.finditer(text)
    ]


def read_units(*values: object) -> str | None:
    """The first readable energy amount, as ``"<number> kWh"``: ``"79.9 kWh"``, ``16666.666``,
    ``"Units: 79.9"`` or ``"Token: … Units: 79.9 kWh"``. Digit runs that are not marked as
    units (a token, a phone number) are never read as units."""
    for value in values:
        number = _units_number(value)
        if number is not None:
            return f"{number} kWh"
    return None


def _units_number(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return _non_negative(str(value))
    if isinstance(value, float):
        return _non_negative(repr(value))  # the shortest text that reads back as this float
    if not isinstance(value, str):
        return None
    plain = _PLAIN_NUMBER.fullmatch(value)
    if plain:
        return _non_negative(plain.group(1))
    marked = _MARKED_NUMBER.search(value)
    return _non_negative(marked.group(1) or marked.group(2)) if marked else None


def _non_negative(text: str) -> str | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return text if number.is_finite() and number >= 0 else None
