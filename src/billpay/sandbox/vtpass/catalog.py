"""What the VTpass sandbox sells, and to whom (providers.md §1.3, §1.9).

Service ids, variation codes and names follow VTpass's own style; prices are plausible 2025
naira prices, not a copy of VTpass's price list. The customer rules are VTpass's documented
sandbox values, with one deliberate relaxation (see ``phone_behaviour``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

LAGOS: Final = ZoneInfo("Africa/Lagos")
IMAGE_ROOT: Final = "https://sandbox.vtpass.com/resources/products/200X200"


class Kind(enum.StrEnum):
    AIRTIME = "airtime"
    DATA = "data"
    TV = "tv"
    ELECTRICITY = "electricity"


TRANSACTION_TYPES: Final[Mapping[Kind, str]] = {
    Kind.AIRTIME: "Airtime Recharge",
    Kind.DATA: "Data Services",
    Kind.TV: "TV Subscription",
    Kind.ELECTRICITY: "Electricity Bill",
}


def wire_naira(kobo: int) -> int | str:
    """Naira as VTpass writes it: a number when whole, else the older ``"1234.50"`` string."""
    whole, fraction = divmod(kobo, 100)
    return whole if fraction == 0 else f"{whole}.{fraction:02d}"


def naira_text(kobo: int) -> str:
    whole, fraction = divmod(kobo, 100)
    return f"{whole}.{fraction:02d}"


@dataclass(frozen=True)
class Variation:
    code: str
    name: str
    amount_kobo: int

    def wire(self) -> dict[str, Any]:
        return {
            "variation_code": self.code,
            "name": self.name,
            "variation_amount": naira_text(self.amount_kobo),
            "fixedPrice": "Yes",
        }


@dataclass(frozen=True)
class Service:
    service_id: str
    name: str
    kind: Kind
    category: str
    min_kobo: int = 0
    max_kobo: int = 0
    variations: tuple[Variation, ...] = ()
    # VTpass spells the variations key "varations" for some services (providers.md §1.5).
    variations_key: str = "variations"
    # IKEDC answers with ``token``/``units``, other discos with ``mainToken``/``mainTokenUnits``.
    ikedc_token_shape: bool = False
    # Eko answers carry a ``bonusToken`` (an FBE token) beside ``mainToken`` (providers.md §1.5).
    bonus_token: bool = False

    def variation(self, code: str | None) -> Variation | None:
        return next((v for v in self.variations if v.code == code), None)

    def wire(self) -> dict[str, Any]:
        # Drift on purpose: the minimum as a string, the maximum as a number, both spelt as VTpass.
        return {
            "serviceID": self.service_id,
            "name": self.name,
            "minimium_amount": str(self.min_kobo // 100),
            "maximum_amount": self.max_kobo // 100,
            "convinience_fee": "0 %",
            "product_type": "fix" if self.variations else "flexible",
            "image": f"{IMAGE_ROOT}/{self.service_id}.jpg",
        }


CATEGORIES: Final = (
    {"identifier": "airtime", "name": "Airtime Recharge"},
    {"identifier": "data", "name": "Data Services"},
    {"identifier": "tv-subscription", "name": "TV Subscription"},
    {"identifier": "electricity-bill", "name": "Electricity Bill"},
)
CATEGORY_OF_KIND: Final[Mapping[Kind, str]] = {
    Kind.AIRTIME: "airtime",
    Kind.DATA: "data",
    Kind.TV: "tv-subscription",
    Kind.ELECTRICITY: "electricity-bill",
}

NAIRA = 100  # kobo


def _airtime(service_id: str, name: str) -> Service:
    return Service(
        service_id, name, Kind.AIRTIME, "airtime", min_kobo=50 * NAIRA, max_kobo=50_000 * NAIRA
    )


def _bundles(
    service_id: str, name: str, kind: Kind, plans: tuple[tuple[str, str, int], ...], key: str
) -> Service:
    variations = tuple(Variation(code, label, naira * NAIRA) for code, label, naira in plans)
    return Service(
        service_id, name, kind, CATEGORY_OF_KIND[kind], variations=variations, variations_key=key
    )


def _disco(service_id: str, name: str, *, ikedc: bool = False, bonus: bool = False) -> Service:
    return Service(
        service_id,
        name,
        Kind.ELECTRICITY,
        "electricity-bill",
        min_kobo=500 * NAIRA,
        max_kobo=500_000 * NAIRA,
        ikedc_token_shape=ikedc,
        bonus_token=bonus,
    )


_ALL_SERVICES: Final = (
    _airtime("mtn", "MTN Airtime VTU"),
    _airtime("glo", "GLO Airtime"),
    _airtime("airtel", "Airtel Airtime VTU"),
    _airtime("etisalat", "9mobile Airtime VTU"),
    _bundles(
        "mtn-data",
        "MTN Data",
        Kind.DATA,
        (
            ("mtn-10mb-100", "N100 100MB - 24 hrs", 100),
            ("mtn-50mb-200", "N200 200MB - 2 days", 200),
            ("mtn-1gb-30d", "N1,000 1.5GB - 30 days", 1_000),
            ("mtn-10gb-30d", "N5,000 10GB - 30 days", 5_000),
        ),
        "variations",
    ),
    _bundles(
        "glo-data",
        "Glo Data",
        Kind.DATA,
        (
            ("glo-105mb-1d", "Glo N100 105MB - 1 day", 100),
            ("glo-1gb-14d", "Glo N500 1.05GB - 14 days", 500),
            ("glo-2-9gb-30d", "Glo N1,000 2.9GB - 30 days", 1_000),
        ),
        "varations",
    ),
    _bundles(
        "airtel-data",
        "Airtel Data",
        Kind.DATA,
        (
            ("airtel-75mb-1d", "Airtel N100 75MB - 1 day", 100),
            ("airtel-750mb-14d", "Airtel N500 750MB - 14 days", 500),
            ("airtel-1-5gb-30d", "Airtel N1,000 1.5GB - 30 days", 1_000),
        ),
        "variations",
    ),
    _bundles(
        "etisalat-data",
        "9mobile Data",
        Kind.DATA,
        (
            ("eti-100mb-1d", "9mobile N100 100MB - 1 day", 100),
            ("eti-1-5gb-30d", "9mobile N1,000 1.5GB - 30 days", 1_000),
        ),
        "varations",
    ),
    _bundles(
        "dstv",
        "DSTV Subscription",
        Kind.TV,
        (
            ("dstv-padi", "DStv Padi N4,400 - 1 Month", 4_400),
            ("dstv-yanga", "DStv Yanga N6,000 - 1 Month", 6_000),
            ("dstv-confam", "DStv Confam N11,000 - 1 Month", 11_000),
            ("dstv-compact", "DStv Compact N19,000 - 1 Month", 19_000),
            ("dstv-compact-plus", "DStv Compact Plus N30,000 - 1 Month", 30_000),
            ("dstv-premium", "DStv Premium N44,500 - 1 Month", 44_500),
        ),
        "variations",
    ),
    _bundles(
        "gotv",
        "Gotv Payment",
        Kind.TV,
        (
            ("gotv-smallie", "GOtv Smallie N1,900 - 1 Month", 1_900),
            ("gotv-jinja", "GOtv Jinja N3,900 - 1 Month", 3_900),
            ("gotv-jolli", "GOtv Jolli N5,800 - 1 Month", 5_800),
            ("gotv-max", "GOtv Max N8,500 - 1 Month", 8_500),
        ),
        "variations",
    ),
    _bundles(
        "startimes",
        "Startimes Subscription",
        Kind.TV,
        (
            ("nova", "Nova - 1 Month", 1_900),
            ("basic", "Basic - 1 Month", 3_700),
            ("classic", "Classic - 1 Month", 5_500),
        ),
        "variations",
    ),
    _disco("ikeja-electric", "Ikeja Electric Payment - IKEDC", ikedc=True),
    _disco("eko-electric", "Eko Electric Payment - EKEDC", bonus=True),
    _disco("abuja-electric", "Abuja Electricity Distribution Company- AEDC"),
    _disco("ibadan-electric", "IBEDC - Ibadan Electricity Distribution Company"),
    _disco("portharcourt-electric", "PHED - Port Harcourt Electric"),
    _disco("kano-electric", "KEDCO - Kano Electric"),
)
SERVICES: Final[Mapping[str, Service]] = {service.service_id: service for service in _ALL_SERVICES}


def services_in(category: str) -> list[Service]:
    return [service for service in _ALL_SERVICES if service.category == category]


# --- who gets what (providers.md §1.9) ---------------------------------------------------------


class Behaviour(enum.StrEnum):
    DELIVER = "deliver"
    FAIL = "fail"
    PENDING = "pending"  # stays pending: requery never resolves it
    UNEXPECTED = "unexpected"  # processed and delivered, but the answer is unreadable
    NO_RESPONSE = "no_response"  # processed and delivered, but the answer is withheld
    TIMEOUT = "timeout"  # never processed, and the answer is withheld


SUCCESS_PHONE: Final = "08011111111"
MAGIC_PHONES: Final[Mapping[str, Behaviour]] = {
    SUCCESS_PHONE: Behaviour.DELIVER,
    "201000000000": Behaviour.PENDING,
    "500000000000": Behaviour.UNEXPECTED,
    "400000000000": Behaviour.NO_RESPONSE,
    "300000000000": Behaviour.TIMEOUT,
}
VALID_METERS: Final[Mapping[str, str]] = {"1111111111111": "prepaid", "1010101010101": "postpaid"}
SANDBOX_SMARTCARD: Final = "1212121212"
# Smartcards whose renewal is not the bouquet's list price, in percent of it: the DSTV page warns
# that Renewal_Amount "might be different from the real price" (discounts, promos).
RENEWAL_PERCENT: Final[Mapping[str, int]] = {
    "1313131313": 85,  # a 15 % promo
    "1414141414": 110,  # the customer's renewal price went up
}
VALID_SMARTCARDS: Final = frozenset({SANDBOX_SMARTCARD, *RENEWAL_PERCENT})
_NIGERIAN_PHONE = re.compile(r"0\d{10}")


def phone_behaviour(phone: str, *, strict: bool) -> Behaviour:
    """Airtime and data recipients.

    VTpass's sandbox fails every phone except its magic ones (``strict=True``). Tests and
    benchmarks buy for arbitrary real-looking numbers, so by default a well-formed
    ``0XXXXXXXXXX`` number is delivered too; malformed numbers still fail.
    """
    magic = MAGIC_PHONES.get(phone)
    if magic is not None:
        return magic
    if not strict and _NIGERIAN_PHONE.fullmatch(phone):
        return Behaviour.DELIVER
    return Behaviour.FAIL


def meter_is_valid(meter: str, meter_type: str | None) -> bool:
    return VALID_METERS.get(meter) == meter_type


def smartcard_is_valid(smartcard: str) -> bool:
    return smartcard in VALID_SMARTCARDS


@dataclass(frozen=True)
class Subscription:
    """What a smartcard watches now, and what merchant-verify quotes for renewing it."""

    bouquet: Variation
    renewal_kobo: int


def subscription_of(service: Service, smartcard: str) -> Subscription:
    bouquet = service.variations[0]
    percent = RENEWAL_PERCENT.get(smartcard, 100)
    return Subscription(bouquet, bouquet.amount_kobo * percent // 100)


def request_id_is_current(request_id: str, now: datetime, tolerance: timedelta) -> bool:
    """The first 12 characters must be the Lagos ``YYYYMMDDHHmm`` of about now (§1.6)."""
    stamp = request_id[:12]
    if len(stamp) != 12 or not stamp.isascii() or not stamp.isdigit():
        return False
    # Slicing, not strptime: this runs on every purchase and strptime is the slow part.
    year, month, day = int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8])
    hour, minute = int(stamp[8:10]), int(stamp[10:12])
    try:
        stamped = datetime(year, month, day, hour, minute, tzinfo=LAGOS)
    except ValueError:
        return False
    # The stamp is truncated to the minute, so "now" may be up to a minute past it.
    return -tolerance <= now - stamped <= tolerance + timedelta(minutes=1)
