"""The billers billpay knows, and recognising one in a provider's names for it.

Each provider names a biller differently (VTpass ``etisalat-data``, Flutterwave "9MOBILE DATA",
Interswitch "9mobile Nigeria"); the alias table below maps them all to one slug.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from billpay.providers.base import BillType, ProviderName, ProviderPlan


@dataclass(frozen=True)
class Biller:
    slug: str
    name: str
    bill_types: frozenset[BillType]
    aliases: tuple[tuple[str, ...], ...]  # token phrases that name this biller


def _biller(slug: str, name: str, bill_types: frozenset[BillType], *aliases: str) -> Biller:
    return Biller(slug, name, bill_types, tuple(tuple(alias.split()) for alias in aliases))


_TELCO = frozenset({BillType.AIRTIME, BillType.DATA})
_TV = frozenset({BillType.CABLE_TV})
_POWER = frozenset({BillType.ELECTRICITY})
_BETTING = frozenset({BillType.BETTING})

_BILLERS: tuple[Biller, ...] = (
    _biller("mtn", "MTN", _TELCO, "mtn"),
    _biller("airtel", "Airtel", _TELCO, "airtel"),
    _biller("glo", "Glo", _TELCO, "glo", "globacom"),
    # Etisalat became 9mobile (2017) and was rebranded T2 (2024); VTpass still says etisalat.
    _biller("9mobile", "9mobile", _TELCO, "9mobile", "9 mobile", "etisalat", "t2"),
    _biller("dstv", "DStv", _TV, "dstv"),
    _biller("gotv", "GOtv", _TV, "gotv"),
    _biller("startimes", "StarTimes", _TV, "startimes", "star times"),
    _biller("showmax", "Showmax", _TV, "showmax"),
    _biller("ikeja-electric", "Ikeja Electric", _POWER, "ikeja", "ikedc"),
    _biller("eko-electric", "Eko Electric", _POWER, "eko", "ekedc", "ekedp"),
    _biller("abuja-electric", "Abuja Electric", _POWER, "abuja", "aedc"),
    _biller("kano-electric", "Kano Electric", _POWER, "kano", "kedco", "kedc"),
    _biller(
        "portharcourt-electric",
        "Port Harcourt Electric",
        _POWER,
        "port harcourt",
        "portharcourt",
        "phed",
        "phedc",
    ),
    _biller("jos-electric", "Jos Electric", _POWER, "jos", "jed", "jedc", "jedplc"),
    _biller("ibadan-electric", "Ibadan Electric", _POWER, "ibadan", "ibedc"),
    _biller("kaduna-electric", "Kaduna Electric", _POWER, "kaduna", "kaedco", "kaedc"),
    _biller("enugu-electric", "Enugu Electric", _POWER, "enugu", "eedc"),
    _biller("benin-electric", "Benin Electric", _POWER, "benin", "bedc"),
    _biller("aba-electric", "Aba Power", _POWER, "aba", "aple"),
    _biller("yola-electric", "Yola Electric", _POWER, "yola", "yedc"),
    _biller("bet9ja", "Bet9ja", _BETTING, "bet9ja", "bet 9ja"),
    _biller("sportybet", "SportyBet", _BETTING, "sportybet", "sporty bet"),
    _biller("nairabet", "NairaBet", _BETTING, "nairabet", "naira bet"),
    _biller("betking", "BetKing", _BETTING, "betking", "bet king"),
    _biller("1xbet", "1xBet", _BETTING, "1xbet"),
    _biller("merrybet", "MerryBet", _BETTING, "merrybet", "merry bet"),
    _biller("betway", "Betway", _BETTING, "betway"),
    _biller("msport", "MSport", _BETTING, "msport"),
    _biller("bangbet", "BangBet", _BETTING, "bangbet", "bang bet"),
)
_BILLERS_BY_SLUG = {biller.slug: biller for biller in _BILLERS}

# Opaque provider biller codes, used only when neither the names nor the code's words say who
# the biller is. Codes from providers.md §2.2.
_BILLER_BY_PROVIDER_CODE: dict[tuple[ProviderName, str], str] = {
    (ProviderName.FLUTTERWAVE, "BIL099"): "mtn",
    (ProviderName.FLUTTERWAVE, "BIL119"): "dstv",
    (ProviderName.FLUTTERWAVE, "BIL110"): "eko-electric",
}


def tokens(text: str) -> tuple[str, ...]:
    """Lower-case words, as the aliases are written; ``+`` is a word (``Supa+`` = ``Supa Plus``)."""
    return tuple(re.findall(r"[a-z0-9]+", text.lower().replace("+", " plus ")))


def _has_phrase(words: Sequence[str], phrase: Sequence[str]) -> bool:
    width = len(phrase)
    return any(tuple(words[i : i + width]) == tuple(phrase) for i in range(len(words) - width + 1))


def _named_billers(text: str, candidates: Iterable[Biller]) -> set[Biller]:
    words = tokens(text)
    return {b for b in candidates if any(_has_phrase(words, alias) for alias in b.aliases)}


def recognize_biller(plan: ProviderPlan) -> Biller | None:
    """The biller named by the biller name, else the biller code's words, else the plan name.

    A text naming two billers says nothing; only billers selling this bill type are candidates
    (so "Jos" can only ever mean the disco).
    """
    candidates = [b for b in _BILLERS if plan.bill_type in b.bill_types]
    for text in (plan.biller_name, plan.biller_code, plan.name):
        named = _named_billers(text, candidates)
        if len(named) == 1:
            return named.pop()
    slug = _BILLER_BY_PROVIDER_CODE.get((plan.provider, plan.biller_code))
    biller = _BILLERS_BY_SLUG.get(slug) if slug else None
    return biller if biller is not None and plan.bill_type in biller.bill_types else None
