"""Merge the providers' catalogs into one plan per product (DESIGN §5).

Each provider names the same product differently (VTpass ``etisalat-data`` "N1000 1.5GB - 30
days", Flutterwave "9MOBILE DATA", Interswitch "9mobile Nigeria"). ``normalize`` recognises the
biller through an alias table, then the product by what it *is*:

- airtime: one any-amount plan per network (``mtn-airtime``);
- data: network + bundle size + validity (``mtn-data-1gb-30d``), plus qualifiers such as
  ``sme`` or ``night`` that make two bundles of the same size different products;
- cable TV: the bouquet name without the biller, price or filler words (``dstv-compact``);
- electricity: disco + meter type (``ikeja-electric-prepaid``);
- betting: one any-amount plan per bookmaker (``bet9ja-wallet``).

The same product from several providers becomes ONE plan whose ``provider_meta`` has one entry
per provider. Anything not recognised is kept as its own plan, slugged from provider + codes,
so a sync never loses a product. The result depends only on the set of input plans, never on
their order.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from billpay.providers.base import BillType, MeterType, ProviderName, ProviderPlan

# Interswitch first: it is the first seed's primary provider. Lower priority number = tried first.
DEFAULT_PROVIDER_PRIORITY: tuple[ProviderName, ...] = (
    ProviderName.INTERSWITCH,
    ProviderName.VTPASS,
    ProviderName.FLUTTERWAVE,
)


@dataclass(frozen=True)
class ProviderMeta:
    """How one provider sells a plan: its own codes, price or limits, and its route priority."""

    provider: ProviderName
    biller_code: str
    plan_code: str
    price_kobo: int | None
    min_kobo: int | None
    max_kobo: int | None
    meter_type: MeterType | None
    priority: int


@dataclass(frozen=True)
class NormalizedPlan:
    """One product as billpay sells it: fixed ``price_kobo``, or any amount in min/max."""

    slug: str
    bill_type: BillType
    biller: str  # biller slug, e.g. "mtn", "dstv", "ikeja-electric"
    biller_name: str
    name: str
    price_kobo: int | None
    min_kobo: int | None
    max_kobo: int | None
    validity_days: int | None
    meter_type: MeterType | None
    provider_meta: tuple[ProviderMeta, ...]  # ordered by priority, one entry per provider


# --- billers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Biller:
    slug: str
    name: str
    bill_types: frozenset[BillType]
    aliases: tuple[tuple[str, ...], ...]  # token phrases that name this biller


def _biller(slug: str, name: str, bill_types: frozenset[BillType], *aliases: str) -> _Biller:
    return _Biller(slug, name, bill_types, tuple(tuple(alias.split()) for alias in aliases))


_TELCO = frozenset({BillType.AIRTIME, BillType.DATA})
_TV = frozenset({BillType.CABLE_TV})
_POWER = frozenset({BillType.ELECTRICITY})
_BETTING = frozenset({BillType.BETTING})

_BILLERS: tuple[_Biller, ...] = (
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


def _tokens(text: str) -> tuple[str, ...]:
    """Lower-case words; ``+`` is a word (``Supa+`` = ``Supa Plus``)."""
    return tuple(re.findall(r"[a-z0-9]+", text.lower().replace("+", " plus ")))


def _has_phrase(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    width = len(phrase)
    return any(
        tuple(tokens[i : i + width]) == tuple(phrase) for i in range(len(tokens) - width + 1)
    )


def _named_billers(text: str, candidates: Iterable[_Biller]) -> set[_Biller]:
    tokens = _tokens(text)
    return {b for b in candidates if any(_has_phrase(tokens, alias) for alias in b.aliases)}


def _recognize_biller(plan: ProviderPlan) -> _Biller | None:
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


# --- product attributes parsed from names ----------------------------------------------------

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

_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(tb|gb|mb)\b")
_MB_PER_UNIT = {"mb": Decimal(1), "gb": Decimal(1024), "tb": Decimal(1024 * 1024)}
MB_PER_GB = Decimal(1024)

# Words that make a bundle a different product from a plain one of the same size and validity
# (SME and gifting bundles are priced differently; night/social bundles only work sometimes or
# for some apps). Plans are merged only when their qualifiers agree.
_DATA_QUALIFIERS = frozenset(
    {
        "sme",
        "gifting",
        "corporate",
        "cg",
        "night",
        "weekend",
        "social",
        "awoof",
        "youtube",
        "whatsapp",
        "instagram",
        "tiktok",
        "router",
        "mifi",
        "broadband",
    }
)

# Prices inside bouquet names ("DStv Compact N15,700") change; the bouquet does not.
_PRICE_IN_NAME = re.compile(
    r"(?:₦|\bngn\b|\bn)\s?\d[\d,]*(?:\.\d+)?|(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|\b\d{4,}\b"
)
_BOUQUET_FILLER = frozenset(
    {"bouquet", "subscription", "package", "plan", "renewal", "payment", "tv", "cable"}
)


def _validity_hours(text: str) -> tuple[set[int], str]:
    """Every validity a name states, in hours, and the name with those phrases removed."""
    lowered = text.lower()
    found: set[int] = set()
    for pattern, hours_per_unit in _VALIDITY_PATTERNS:
        found.update(int(n) * hours_per_unit for n in pattern.findall(lowered))
        lowered = pattern.sub(" ", lowered)
    found.update(_VALIDITY_WORD_HOURS[word] for word in _VALIDITY_WORDS.findall(lowered))
    return found, _VALIDITY_WORDS.sub(" ", lowered)


def _plan_validity_hours(plan: ProviderPlan) -> tuple[int | None, bool, str]:
    """(hours, ambiguous, name without validity). A provider's structured field beats the name."""
    stated, rest = _validity_hours(plan.name)
    if plan.validity_days is not None:
        return plan.validity_days * HOURS_PER_DAY, False, rest
    if len(stated) > 1:
        return None, True, rest
    return (stated.pop() if stated else None), False, rest


def _validity_days(hours: int | None) -> int | None:
    """Whole days only: a 3-hour bundle has no honest ``validity_days``."""
    if hours is None or hours % HOURS_PER_DAY:
        return None
    return hours // HOURS_PER_DAY


def _validity_slug(hours: int) -> str:
    return f"{hours // HOURS_PER_DAY}d" if hours % HOURS_PER_DAY == 0 else f"{hours}h"


def _validity_label(hours: int) -> str:
    count, unit = (hours // HOURS_PER_DAY, "day") if hours % HOURS_PER_DAY == 0 else (hours, "hour")
    return f"{count} {unit}" + ("" if count == 1 else "s")


def _bundle_size_mb(name: str) -> Decimal | None:
    """The one size a bundle name states ("1.5GB", "500MB"); None when absent or several."""
    sizes = _SIZE.findall(name.lower())
    if len(sizes) != 1:
        return None
    amount, unit = sizes[0]
    return Decimal(amount) * _MB_PER_UNIT[unit]


def _size_label(size_mb: Decimal) -> str:
    """``1024`` → ``1GB``, ``1536`` → ``1.5GB``, ``500`` → ``500MB``, ``1500`` → ``1500MB``."""
    gigabytes = size_mb / MB_PER_GB
    if gigabytes >= 1 and gigabytes == gigabytes.quantize(Decimal("0.01")):
        return f"{_plain(gigabytes)}GB"
    return f"{_plain(size_mb)}MB"


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


# --- identifying one provider plan -------------------------------------------------------------


@dataclass(frozen=True)
class _Identity:
    """What a provider plan is, in billpay's terms; plans with the same slug are one product."""

    slug: str
    name: str
    validity_days: int | None
    meter_type: MeterType | None


def _identify(plan: ProviderPlan, biller: _Biller) -> _Identity | None:
    """Airtime, electricity and betting are any-amount products; data and TV have fixed prices.

    A plan of the wrong pricing kind (a ₦100 airtime voucher) is a different product: left
    unmatched rather than merged into the any-amount plan.
    """
    fixed = plan.price_kobo is not None
    match plan.bill_type:
        case BillType.AIRTIME if not fixed:
            return _Identity(f"{biller.slug}-airtime", f"{biller.name} Airtime", None, None)
        case BillType.BETTING if not fixed:
            return _Identity(f"{biller.slug}-wallet", f"{biller.name} Wallet Funding", None, None)
        case BillType.ELECTRICITY if not fixed:
            return _electricity(plan, biller)
        case BillType.DATA if fixed:
            return _data_bundle(plan, biller)
        case BillType.CABLE_TV if fixed:
            return _bouquet(plan, biller)
        case _:
            return None


def _electricity(plan: ProviderPlan, biller: _Biller) -> _Identity | None:
    meter_type = plan.meter_type or _stated_meter_type(plan)
    if meter_type is None:
        return None
    return _Identity(
        f"{biller.slug}-{meter_type.value}",
        f"{biller.name} {meter_type.value.capitalize()}",
        None,
        meter_type,
    )


def _stated_meter_type(plan: ProviderPlan) -> MeterType | None:
    words = set(_tokens(" ".join((plan.name, plan.plan_code, plan.biller_name, plan.biller_code))))
    stated = {meter_type for meter_type in MeterType if meter_type.value in words}
    return stated.pop() if len(stated) == 1 else None


def _data_bundle(plan: ProviderPlan, biller: _Biller) -> _Identity | None:
    """Merged only when size and validity are both certain: guessing merges different bundles."""
    size_mb = _bundle_size_mb(plan.name)
    hours, _, _ = _plan_validity_hours(plan)
    if size_mb is None or hours is None:
        return None
    words = _tokens(" ".join((plan.name, plan.biller_name, plan.biller_code)))
    qualifiers = sorted(_DATA_QUALIFIERS.intersection(words))
    size = _size_label(size_mb)
    slug = "-".join([biller.slug, "data", *qualifiers, size.lower(), _validity_slug(hours)])
    qualifier_labels = [q.upper() if len(q) <= 3 else q.capitalize() for q in qualifiers]
    label = " ".join([biller.name, "Data", *qualifier_labels, size])
    return _Identity(slug, f"{label} - {_validity_label(hours)}", _validity_days(hours), None)


def _bouquet(plan: ProviderPlan, biller: _Biller) -> _Identity | None:
    """``DStv Compact``, ``dstv-compact``, ``DSTV COMPACT N15,700`` → ``dstv-compact``.

    A monthly bouquet is the default and gets no suffix; other periods do (``startimes-nova-7d``).
    """
    hours, ambiguous, rest = _plan_validity_hours(plan)
    biller_words = {word for alias in biller.aliases for word in alias}
    words = [
        word
        for word in _tokens(_PRICE_IN_NAME.sub(" ", rest))
        if word not in biller_words and word not in _BOUQUET_FILLER
    ]
    if ambiguous or not words:
        return None
    label = " ".join([biller.name, *(word.capitalize() for word in words)])
    if hours is not None and hours not in MONTHLY_BOUQUET_HOURS:
        words.append(_validity_slug(hours))
        label += f" - {_validity_label(hours)}"
    return _Identity("-".join([biller.slug, *words]), label, _validity_days(hours), None)


# --- merging ------------------------------------------------------------------------------------


def normalize(
    plans: Iterable[ProviderPlan],
    provider_priority: Sequence[ProviderName] = DEFAULT_PROVIDER_PRIORITY,
) -> list[NormalizedPlan]:
    """The providers' plans as billpay's catalog, sorted by slug. See the module docstring.

    ``provider_priority`` orders each plan's providers (first = primary); providers missing from
    it come after, alphabetically.
    """
    groups: dict[str, list[tuple[ProviderPlan, _Biller, _Identity]]] = {}
    unmatched: list[tuple[ProviderPlan, _Biller | None]] = []
    for plan in _distinct(plans):
        biller = _recognize_biller(plan)
        identity = _identify(plan, biller) if biller else None
        if biller is None or identity is None:
            unmatched.append((plan, biller))
        else:
            groups.setdefault(identity.slug, []).append((plan, biller, identity))
    merged: list[NormalizedPlan] = []
    for members in groups.values():
        kept, extras = _one_per_provider(members)
        merged.append(_merge(kept, provider_priority))
        unmatched.extend((plan, biller) for plan, biller, _ in extras)
    singles = _with_unique_slugs(
        [_single(plan, biller, provider_priority) for plan, biller in unmatched]
    )
    return sorted(merged + singles, key=lambda normalized: normalized.slug)


def _sort_key(plan: ProviderPlan) -> tuple[str | int, ...]:
    """A total order over a plan's fields (not ``raw``), so every choice below is order-free."""
    return (
        plan.provider.value,
        plan.biller_code,
        plan.plan_code,
        plan.bill_type.value,
        plan.name,
        plan.biller_name,
        -1 if plan.price_kobo is None else plan.price_kobo,
        -1 if plan.min_kobo is None else plan.min_kobo,
        -1 if plan.max_kobo is None else plan.max_kobo,
        -1 if plan.validity_days is None else plan.validity_days,
        plan.meter_type.value if plan.meter_type else "",
    )


def _distinct(plans: Iterable[ProviderPlan]) -> list[ProviderPlan]:
    """One plan per (provider, biller code, plan code): a code listed twice is one product."""
    seen: dict[tuple[ProviderName, str, str], ProviderPlan] = {}
    for plan in sorted(plans, key=_sort_key):
        seen.setdefault((plan.provider, plan.biller_code, plan.plan_code), plan)
    return list(seen.values())


def _one_per_provider(
    members: list[tuple[ProviderPlan, _Biller, _Identity]],
) -> tuple[
    list[tuple[ProviderPlan, _Biller, _Identity]], list[tuple[ProviderPlan, _Biller, _Identity]]
]:
    """A provider selling the product twice keeps its cheapest code in the merged plan; the
    others stay listed on their own rather than being dropped."""
    kept: dict[ProviderName, tuple[ProviderPlan, _Biller, _Identity]] = {}
    extras: list[tuple[ProviderPlan, _Biller, _Identity]] = []
    for member in sorted(members, key=lambda m: _cheapest_first(m[0])):
        if member[0].provider in kept:
            extras.append(member)
        else:
            kept[member[0].provider] = member
    return list(kept.values()), extras


def _cheapest_first(plan: ProviderPlan) -> tuple[str | int, ...]:
    price = -1 if plan.price_kobo is None else plan.price_kobo
    return (plan.provider.value, price, *_sort_key(plan))


def _priority_of(provider: ProviderName, priority: Sequence[ProviderName]) -> int:
    if provider in priority:
        return priority.index(provider)
    return len(priority) + sorted(ProviderName).index(provider)


def _meta(
    plan: ProviderPlan, priority: Sequence[ProviderName], meter_type: MeterType | None
) -> ProviderMeta:
    return ProviderMeta(
        provider=plan.provider,
        biller_code=plan.biller_code,
        plan_code=plan.plan_code,
        price_kobo=plan.price_kobo,
        min_kobo=plan.min_kobo,
        max_kobo=plan.max_kobo,
        meter_type=plan.meter_type or meter_type,
        priority=_priority_of(plan.provider, priority),
    )


def _by_priority(metas: Iterable[ProviderMeta]) -> tuple[ProviderMeta, ...]:
    return tuple(sorted(metas, key=lambda meta: (meta.priority, meta.provider.value)))


def _merge(
    members: list[tuple[ProviderPlan, _Biller, _Identity]], priority: Sequence[ProviderName]
) -> NormalizedPlan:
    """One plan from every provider's version of it.

    Fixed price: the HIGHEST provider price, so we never sell below what any provider in the
    route charges us (a fallback must not sell at a loss). Any amount: the range every provider
    accepts, so a fallback can take the same amount.
    """
    plan, biller, identity = members[0]
    metas = _by_priority(_meta(p, priority, i.meter_type) for p, _, i in members)
    fixed_prices = [meta.price_kobo for meta in metas if meta.price_kobo is not None]
    low, high = (None, None) if fixed_prices else _common_range(metas)
    return NormalizedPlan(
        slug=identity.slug,
        bill_type=plan.bill_type,
        biller=biller.slug,
        biller_name=biller.name,
        name=identity.name,
        price_kobo=max(fixed_prices) if fixed_prices else None,
        min_kobo=low,
        max_kobo=high,
        # A provider that promises less wins: never tell a payer more than every route delivers.
        validity_days=min(
            (i.validity_days for _, _, i in members if i.validity_days is not None), default=None
        ),
        meter_type=identity.meter_type,
        provider_meta=metas,
    )


def _common_range(metas: Sequence[ProviderMeta]) -> tuple[int | None, int | None]:
    """The intersection of the providers' limits (None = no limit). Providers whose ranges do
    not overlap at all cannot share one range; the primary provider's limits win then."""
    lows = [meta.min_kobo for meta in metas if meta.min_kobo is not None]
    highs = [meta.max_kobo for meta in metas if meta.max_kobo is not None]
    low = max(lows) if lows else None
    high = min(highs) if highs else None
    if low is not None and high is not None and low > high:
        return metas[0].min_kobo, metas[0].max_kobo
    return low, high


def _slugify(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def _single(
    plan: ProviderPlan, biller: _Biller | None, priority: Sequence[ProviderName]
) -> NormalizedPlan:
    """An unrecognised product, kept as sold by its one provider under a code-derived slug."""
    fallback_slug = "-".join(
        part
        for part in (plan.provider.value, _slugify(plan.biller_code), _slugify(plan.plan_code))
        if part
    )
    return NormalizedPlan(
        slug=fallback_slug,
        bill_type=plan.bill_type,
        biller=biller.slug if biller else (_slugify(plan.biller_name) or fallback_slug),
        biller_name=biller.name if biller else (plan.biller_name.strip() or plan.biller_code),
        name=plan.name.strip() or plan.plan_code,
        price_kobo=plan.price_kobo,
        min_kobo=plan.min_kobo,
        max_kobo=plan.max_kobo,
        validity_days=plan.validity_days,
        meter_type=plan.meter_type,
        provider_meta=(_meta(plan, priority, None),),
    )


def _with_unique_slugs(singles: list[NormalizedPlan]) -> list[NormalizedPlan]:
    """Codes that differ only in punctuation or case slug alike; a digest of the exact codes
    tells them apart."""
    counts = Counter(single.slug for single in singles)
    return [
        replace(single, slug=f"{single.slug}-{_code_digest(single.provider_meta[0])}")
        if counts[single.slug] > 1
        else single
        for single in singles
    ]


def _code_digest(meta: ProviderMeta) -> str:
    exact = "\x00".join((meta.provider.value, meta.biller_code, meta.plan_code))
    return hashlib.sha256(exact.encode()).hexdigest()[:8]
