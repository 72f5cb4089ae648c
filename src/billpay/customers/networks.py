"""Which mobile network a phone number is on: what billpay learned, else its prefix.

Nigerian numbers port between networks while keeping their prefix, so the prefix
(``identifiers.network_hint``) is only a hint. What billpay learns for a number wins over it:
a provider delivering to the number on a network, a provider's definite wrong-network
rejection, or the client naming the network on an earlier payment. Provider evidence outranks
a client's choice (a client may guess); among equals the newest wins.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from billpay.customers.identifiers import Network


class NetworkSource(enum.StrEnum):
    """Where a payment's or a validation's network came from."""

    EXPLICIT = "explicit"  # the client named it in this request's plan (``glo-airtime``)
    LEARNED = "learned"  # billpay learned it for this number (see ``LearnedFrom``)
    PREFIX = "prefix"  # the number's prefix: the network that first owned the block


class LearnedFrom(enum.StrEnum):
    DELIVERY = "provider_delivery"  # a provider delivered airtime/data to it on that network
    REJECTION = "wrong_network_rejection"  # a provider's definite failure named its network
    CLIENT_CHOICE = "client_choice"  # the client named the network on an earlier payment


# A provider's word outranks a client's: a client choice never overwrites provider evidence.
PROVIDER_EVIDENCE: Final = frozenset({LearnedFrom.DELIVERY, LearnedFrom.REJECTION})


@dataclass(frozen=True)
class NetworkDetection:
    network: Network
    source: NetworkSource
    learned_from: LearnedFrom | None = None
    learned_at: datetime | None = None


# How providers and payers name each network (the catalog's biller aliases for the telcos).
_NETWORK_NAMES: Final[dict[Network, tuple[str, ...]]] = {
    Network.MTN: ("mtn",),
    Network.AIRTEL: ("airtel",),
    Network.GLO: ("glo", "globacom"),
    Network.NINE_MOBILE: ("9mobile", "9 mobile", "etisalat", "t2"),
}
NETWORK_DISPLAY: Final[dict[Network, str]] = {
    Network.MTN: "MTN",
    Network.AIRTEL: "Airtel",
    Network.GLO: "Glo",
    Network.NINE_MOBILE: "9mobile",
}
# A rejection is read as "wrong network" only when it says so in words like these. No provider
# documents a wrong-network code (providers.md), so this reads the failure's own message; the
# outcome (definite or not) is still decided by the provider's documented codes alone.
_MISMATCH: Final = re.compile(
    r"\bported\b|\bbelongs? to\b|\bwrong network\b|\bnetwork mismatch\b"
    r"|\bnot an? (mtn|airtel|glo|globacom|9 ?mobile|etisalat|t2) (number|line|subscriber)\b"
)


def network_of_biller(biller: str) -> Network | None:
    """The network a telco biller slug sells (the catalog's slugs are the Network values)."""
    try:
        return Network(biller)
    except ValueError:
        return None


def networks_named(text: str) -> set[Network]:
    words = " ".join(re.findall(r"[a-z0-9]+", text.lower()))
    return {
        network
        for network, names in _NETWORK_NAMES.items()
        if any(re.search(rf"\b{re.escape(name)}\b", words) for name in names)
    }


def wrong_network_named(message: str, tried: Network) -> Network | None:
    """The network a definite failure says the number is really on, if it says exactly one
    other than ``tried`` and says it is a network mismatch; otherwise None."""
    words = " ".join(re.findall(r"[a-z0-9]+", message.lower()))
    if _MISMATCH.search(words) is None:
        return None
    others = networks_named(message) - {tried}
    return others.pop() if len(others) == 1 else None


def is_news(
    stored_network: str, stored_from: LearnedFrom, network: str, learned_from: LearnedFrom
) -> bool:
    """Whether new evidence changes what is stored: it differs, and it is not a client's
    choice over a provider's evidence."""
    if (stored_network, stored_from) == (network, learned_from):
        return False
    return learned_from in PROVIDER_EVIDENCE or stored_from not in PROVIDER_EVIDENCE
