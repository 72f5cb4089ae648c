"""Shape checks for customer identifiers, before any provider is asked about them (DESIGN §5).

A shape check only says "this could be a phone / meter / smartcard / betting account"; the
provider's own lookup says whether it exists. Each check returns the normalized value or raises
``InvalidIdentifier`` with a machine-readable code and a message naming the offending field.

The network of a phone number is only ever a *hint*: Nigerian numbers port between networks
(an 0803 number may now be on Airtel), so a client's explicit choice always wins.
"""

from __future__ import annotations

import enum
import re
from typing import assert_never

from billpay.providers.base import BillType


class IdentifierErrorCode(enum.StrEnum):
    INVALID_PHONE = "invalid_phone"
    INVALID_METER_NUMBER = "invalid_meter_number"
    INVALID_SMARTCARD = "invalid_smartcard"
    INVALID_BETTING_ACCOUNT = "invalid_betting_account"


class InvalidIdentifier(ValueError):
    """A customer identifier that cannot be what the field asks for."""

    def __init__(self, field: str, code: IdentifierErrorCode, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


class Network(enum.StrEnum):
    """Mobile networks; the values are the catalog's biller slugs for airtime and data."""

    MTN = "mtn"
    AIRTEL = "airtel"
    GLO = "glo"
    NINE_MOBILE = "9mobile"


# --- phones -------------------------------------------------------------------------------

LOCAL_PHONE_LENGTH = 11  # 0 + 10-digit national significant number
INTERNATIONAL_PHONE_LENGTH = 13  # 234 + 10 digits
COUNTRY_CODE = "234"

# The 4-digit NCC mobile blocks. 0800 is toll-free, not mobile. 0801 is included because
# providers' sandboxes use it as their standard test line (VTpass 08011111111); a number that
# passes here is still looked up by the provider before money moves.
MOBILE_PREFIXES = frozenset(
    [f"070{d}" for d in range(1, 10)]
    + [f"08{n:02d}" for n in range(1, 20)]
    + [f"09{n:02d}" for n in range(1, 18)]
)

# Each network's original number blocks. Longest prefix wins: 07025 and 07026 are MTN's, the
# rest of 0702 is not.
_PREFIXES_BY_NETWORK: dict[Network, str] = {
    Network.MTN: "0703 0704 0706 0803 0806 0810 0813 0814 0816 0903 0906 0913 0916 07025 07026",
    Network.AIRTEL: "0701 0708 0802 0808 0812 0901 0902 0904 0907 0911 0912",
    Network.GLO: "0705 0805 0807 0811 0815 0905 0915",
    Network.NINE_MOBILE: "0809 0817 0818 0908 0909",
}
_NETWORK_BY_PREFIX = {
    prefix: network
    for network, prefixes in _PREFIXES_BY_NETWORK.items()
    for prefix in prefixes.split()
}
_NETWORK_PREFIX_LENGTHS = sorted({len(prefix) for prefix in _NETWORK_BY_PREFIX}, reverse=True)

_SEPARATORS = re.compile(r"[\s-]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def _without_separators(value: str) -> str:
    """People type ``0803 123 4567`` and ``0803-123-4567``; the separators carry no meaning."""
    return _SEPARATORS.sub("", value)


def _is_digits(value: str) -> bool:
    # str.isdigit() accepts non-ASCII digits (e.g. Arabic-Indic), which no provider does.
    return _ASCII_DIGITS.fullmatch(value) is not None


def normalize_phone(value: str, field: str = "phone") -> str:
    """``+234 803-123-4567`` / ``2348031234567`` / ``08031234567`` → ``08031234567``."""
    compact = _without_separators(value)
    digits = compact.removeprefix("+")
    has_plus = digits != compact
    if not _is_digits(digits):
        raise _invalid_phone(field, value)
    if has_plus or len(digits) == INTERNATIONAL_PHONE_LENGTH:
        if len(digits) != INTERNATIONAL_PHONE_LENGTH or not digits.startswith(COUNTRY_CODE):
            raise _invalid_phone(field, value)
        local = "0" + digits[len(COUNTRY_CODE) :]
    else:
        local = digits
    if len(local) != LOCAL_PHONE_LENGTH or local[:4] not in MOBILE_PREFIXES:
        raise _invalid_phone(field, value)
    return local


def _invalid_phone(field: str, value: str) -> InvalidIdentifier:
    return InvalidIdentifier(
        field,
        IdentifierErrorCode.INVALID_PHONE,
        f"{field}: {value!r} is not a Nigerian mobile number "
        "(expected 0XXXXXXXXXX, 234XXXXXXXXXX or +234XXXXXXXXXX)",
    )


def to_international(phone: str, field: str = "phone") -> str:
    """Any accepted phone form → ``234XXXXXXXXXX`` (what Interswitch expects)."""
    return COUNTRY_CODE + normalize_phone(phone, field)[1:]


def network_hint(phone: str, field: str = "phone") -> Network | None:
    """The network that originally owned the number's prefix, or None when we don't know it.

    Only a hint: ported numbers keep their prefix. Use ``resolve_network`` to let the client's
    choice win.
    """
    local = normalize_phone(phone, field)
    for length in _NETWORK_PREFIX_LENGTHS:
        network = _NETWORK_BY_PREFIX.get(local[:length])
        if network is not None:
            return network
    return None


def resolve_network(phone: str, override: Network | None, field: str = "phone") -> Network | None:
    """The client's override when given (number portability), else the prefix hint.

    The phone is shape-checked either way: an override does not make a bad number good.
    """
    normalize_phone(phone, field)
    if override is not None:
        return override
    return network_hint(phone, field)


# --- meters, smartcards, betting accounts --------------------------------------------------

METER_NUMBER_LENGTHS = range(11, 14)  # prepaid and postpaid meters: 11-13 digits
SMARTCARD_LENGTHS = range(10, 13)  # DStv/GOtv IUC 10, StarTimes 11, some cards 12
# Narrower lengths for the TV billers whose card formats we know.
SMARTCARD_LENGTHS_BY_BILLER: dict[str, range] = {
    "dstv": range(10, 11),
    "gotv": range(10, 11),
    "startimes": range(11, 12),
}
_BETTING_ACCOUNT = re.compile(r"[A-Za-z0-9_-]{3,32}")


def check_meter_number(value: str, field: str = "meter_number") -> str:
    """Digits only, 11-13 of them (spaces and dashes dropped)."""
    digits = _without_separators(value)
    if not _is_digits(digits) or len(digits) not in METER_NUMBER_LENGTHS:
        raise InvalidIdentifier(
            field,
            IdentifierErrorCode.INVALID_METER_NUMBER,
            f"{field}: {value!r} is not a meter number (11 to 13 digits)",
        )
    return digits


def check_smartcard(value: str, field: str = "smartcard", biller: str | None = None) -> str:
    """Digits only, 10-12 of them (exact length when the TV biller's format is known).

    An 11-digit number in a Nigerian mobile range is rejected: it is far more likely a phone
    typed into the wrong field than a card number, and catching it here saves a provider call.
    """
    digits = _without_separators(value)
    lengths = SMARTCARD_LENGTHS_BY_BILLER.get(biller or "", SMARTCARD_LENGTHS)
    if not _is_digits(digits) or len(digits) not in lengths or _looks_like_phone(digits):
        expected = _describe_lengths(lengths)
        raise InvalidIdentifier(
            field,
            IdentifierErrorCode.INVALID_SMARTCARD,
            f"{field}: {value!r} is not a smartcard/IUC number ({expected} digits)",
        )
    return digits


def _looks_like_phone(digits: str) -> bool:
    return len(digits) == LOCAL_PHONE_LENGTH and digits[:4] in MOBILE_PREFIXES


def _describe_lengths(lengths: range) -> str:
    if len(lengths) == 1:
        return str(lengths[0])
    return f"{lengths[0]} to {lengths[-1]}"


def check_betting_account(value: str, field: str = "betting_account") -> str:
    """3-32 letters, digits, ``_`` or ``-``; case kept (bookmakers' ids may be case-sensitive)."""
    account = value.strip()
    if _BETTING_ACCOUNT.fullmatch(account) is None:
        raise InvalidIdentifier(
            field,
            IdentifierErrorCode.INVALID_BETTING_ACCOUNT,
            f"{field}: {value!r} is not a betting account id (3 to 32 letters, digits, '_' or '-')",
        )
    return account


def check_customer_for(bill_type: BillType, customer_id: str, biller: str | None = None) -> str:
    """The shape check a bill type's ``customer_id`` must pass, reported against ``customer_id``.

    ``biller`` (a catalog biller slug such as ``dstv``) narrows smartcard lengths when known.
    """
    field = "customer_id"
    match bill_type:
        case BillType.AIRTIME | BillType.DATA:
            return normalize_phone(customer_id, field)
        case BillType.ELECTRICITY:
            return check_meter_number(customer_id, field)
        case BillType.CABLE_TV:
            return check_smartcard(customer_id, field, biller)
        case BillType.BETTING:
            return check_betting_account(customer_id, field)
        case _:
            assert_never(bill_type)
