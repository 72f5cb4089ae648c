"""Merging the providers' catalogs into one plan per product (DESIGN §5)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billpay.catalog.merge import DEFAULT_PROVIDER_PRIORITY, normalize
from billpay.catalog.plan import NormalizedPlan, ProviderMeta
from billpay.providers.base import BillType, MeterType, ProviderName, ProviderPlan

VTPASS, FLUTTERWAVE, INTERSWITCH = (
    ProviderName.VTPASS,
    ProviderName.FLUTTERWAVE,
    ProviderName.INTERSWITCH,
)


def plan(
    provider: ProviderName = VTPASS,
    bill_type: BillType = BillType.DATA,
    biller_code: str = "mtn-data",
    biller_name: str = "MTN Data",
    plan_code: str = "code-1",
    name: str = "MTN 1GB - 30 days",
    price_kobo: int | None = 100_000,
    min_kobo: int | None = None,
    max_kobo: int | None = None,
    validity_days: int | None = None,
    meter_type: MeterType | None = None,
) -> ProviderPlan:
    return ProviderPlan(
        provider=provider,
        bill_type=bill_type,
        biller_code=biller_code,
        biller_name=biller_name,
        plan_code=plan_code,
        name=name,
        price_kobo=price_kobo,
        min_kobo=min_kobo,
        max_kobo=max_kobo,
        validity_days=validity_days,
        meter_type=meter_type,
    )


def airtime(
    provider: ProviderName,
    biller_code: str,
    biller_name: str,
    min_kobo: int | None = None,
    max_kobo: int | None = None,
) -> ProviderPlan:
    return plan(
        provider,
        BillType.AIRTIME,
        biller_code,
        biller_name,
        plan_code=biller_code,
        name=biller_name,
        price_kobo=None,
        min_kobo=min_kobo,
        max_kobo=max_kobo,
    )


def only(plans: list[NormalizedPlan]) -> NormalizedPlan:
    assert len(plans) == 1, [p.slug for p in plans]
    return plans[0]


def by_slug(plans: list[NormalizedPlan]) -> dict[str, NormalizedPlan]:
    return {p.slug: p for p in plans}


# --- airtime ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "biller_code", "biller_name", "slug"),
    [
        (VTPASS, "mtn", "MTN Airtime VTU", "mtn-airtime"),
        (FLUTTERWAVE, "BIL099", "MTN VTU", "mtn-airtime"),
        (INTERSWITCH, "109", "MTN Nigeria", "mtn-airtime"),
        (VTPASS, "airtel", "Airtel Airtime VTU", "airtel-airtime"),
        (VTPASS, "glo", "GLO Airtime VTU", "glo-airtime"),
        (INTERSWITCH, "402", "Globacom", "glo-airtime"),
        (VTPASS, "etisalat", "9mobile Airtime VTU", "9mobile-airtime"),
        (VTPASS, "etisalat", "", "9mobile-airtime"),  # the code alone: etisalat = 9mobile
        (FLUTTERWAVE, "BIL103", "9MOBILE VTU", "9mobile-airtime"),
        (INTERSWITCH, "120", "9 Mobile", "9mobile-airtime"),
        (INTERSWITCH, "121", "T2 Mobile Top-up", "9mobile-airtime"),
    ],
)
def test_airtime_is_one_plan_per_network(
    provider: ProviderName, biller_code: str, biller_name: str, slug: str
) -> None:
    normalized = only(normalize([airtime(provider, biller_code, biller_name)]))
    assert normalized.slug == slug
    assert normalized.biller == slug.removesuffix("-airtime")
    assert normalized.price_kobo is None


def test_airtime_from_three_providers_is_one_plan_named_after_the_network() -> None:
    merged = only(
        normalize(
            [
                airtime(VTPASS, "mtn", "MTN Airtime VTU", min_kobo=5_000, max_kobo=5_000_000),
                airtime(FLUTTERWAVE, "BIL099", "MTN VTU", min_kobo=10_000, max_kobo=10_000_000),
                airtime(INTERSWITCH, "109", "MTN Nigeria"),
            ]
        )
    )
    assert (merged.slug, merged.biller, merged.biller_name, merged.name) == (
        "mtn-airtime",
        "mtn",
        "MTN",
        "MTN Airtime",
    )
    assert [m.provider for m in merged.provider_meta] == [INTERSWITCH, VTPASS, FLUTTERWAVE]
    # Any amount every provider accepts: the highest minimum, the lowest maximum.
    assert (merged.min_kobo, merged.max_kobo) == (10_000, 5_000_000)


def test_disjoint_provider_ranges_fall_back_to_the_primary_providers_limits() -> None:
    merged = only(
        normalize(
            [
                airtime(VTPASS, "mtn", "MTN", min_kobo=5_000, max_kobo=10_000),
                airtime(INTERSWITCH, "109", "MTN Nigeria", min_kobo=50_000, max_kobo=90_000),
            ]
        )
    )
    assert (merged.min_kobo, merged.max_kobo) == (50_000, 90_000)


def test_a_fixed_price_airtime_voucher_is_not_merged_into_any_amount_airtime() -> None:
    plans = normalize(
        [
            airtime(VTPASS, "mtn", "MTN"),
            plan(
                INTERSWITCH,
                BillType.AIRTIME,
                "109",
                "MTN Nigeria",
                "10902",
                "MTN 100",
                price_kobo=10_000,
            ),
        ]
    )
    assert [p.slug for p in plans] == ["interswitch-109-10902", "mtn-airtime"]
    assert by_slug(plans)["interswitch-109-10902"].biller == "mtn"


# --- data ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug", "validity_days"),
    [
        ("MTN N1000 1GB - 30 days", "mtn-data-1gb-30d", 30),
        ("N1000 1.5GB - 30 days", "mtn-data-1.5gb-30d", 30),
        ("N100 100MB - 24 hrs", "mtn-data-100mb-1d", 1),
        ("500MB Weekly", "mtn-data-500mb-7d", 7),
        ("10GB Monthly Plan", "mtn-data-10gb-30d", 30),
        ("1GB 1 day", "mtn-data-1gb-1d", 1),
        ("2GB - 2 Days", "mtn-data-2gb-2d", 2),
        ("1gb daily", "mtn-data-1gb-1d", 1),
        ("1024MB 30days", "mtn-data-1gb-30d", 30),
        ("1500MB 30 days", "mtn-data-1500mb-30d", 30),
        ("750 MB 14-days", "mtn-data-750mb-14d", 14),
        ("6GB 2 weeks", "mtn-data-6gb-14d", 14),
        ("20GB 1 Month", "mtn-data-20gb-30d", 30),
        ("1TB 365 days", "mtn-data-1024gb-365d", 365),
        ("MTN 1GB Daily Plan - 24hrs", "mtn-data-1gb-1d", 1),  # two ways, one validity
        ("200MB 3 hrs", "mtn-data-200mb-3h", None),  # no whole days to promise
        ("1.5GB 48 hours", "mtn-data-1.5gb-2d", 2),
    ],
)
def test_data_bundles_are_slugged_by_network_size_and_validity(
    name: str, slug: str, validity_days: int | None
) -> None:
    normalized = only(normalize([plan(name=name)]))
    assert normalized.slug == slug
    assert normalized.validity_days == validity_days
    assert normalized.biller == "mtn"


def test_data_bundle_display_name() -> None:
    assert only(normalize([plan(name="N1000 1.5GB - 30 days")])).name == "MTN Data 1.5GB - 30 days"
    assert only(normalize([plan(name="100MB 3 hrs")])).name == "MTN Data 100MB - 3 hours"
    assert only(normalize([plan(name="100MB 1 day")])).name == "MTN Data 100MB - 1 day"


def test_the_providers_structured_validity_beats_the_name() -> None:
    assert only(normalize([plan(name="1GB", validity_days=30)])).slug == "mtn-data-1gb-30d"
    assert only(normalize([plan(name="1GB 7 days", validity_days=30)])).slug == "mtn-data-1gb-30d"


@pytest.mark.parametrize(
    "name",
    [
        "MTN 1GB",  # validity unknown: merging could sell a daily bundle as a monthly one
        "MTN Data Bundle 30 days",  # size unknown
        "1GB + 1GB Night 30 days",  # two sizes
        "1GB 7 days 30 days",  # two validities
    ],
)
def test_data_bundles_with_uncertain_size_or_validity_are_kept_unmerged(name: str) -> None:
    normalized = only(normalize([plan(plan_code="mtn-x", name=name)]))
    assert normalized.slug == "vtpass-mtn-data-mtn-x"
    assert normalized.biller == "mtn"  # the biller is still known
    assert normalized.name == name


def test_the_same_bundle_from_several_providers_is_one_plan() -> None:
    merged = only(
        normalize(
            [
                plan(
                    VTPASS,
                    biller_code="mtn-data",
                    plan_code="mtn-1gb",
                    name="MTN N1000 1GB - 30 days",
                    price_kobo=100_000,
                ),
                plan(
                    INTERSWITCH,
                    biller_code="300",
                    biller_name="MTN Nigeria Data",
                    plan_code="30001",
                    name="MTN 1GB Monthly",
                    price_kobo=98_000,
                ),
                plan(
                    FLUTTERWAVE,
                    biller_code="BIL108",
                    biller_name="MTN DATA BUNDLE",
                    plan_code="MD104",
                    name="MTN 1024MB 30 Days",
                    price_kobo=103_000,
                ),
            ]
        )
    )
    assert merged.slug == "mtn-data-1gb-30d"
    assert merged.name == "MTN Data 1GB - 30 days"
    assert merged.validity_days == 30
    # One advertised price, the lowest any provider sells at; each provider keeps its own.
    assert merged.price_kobo == 98_000
    assert (merged.min_kobo, merged.max_kobo) == (None, None)
    assert merged.provider_meta == (
        ProviderMeta(INTERSWITCH, "300", "30001", 98_000, None, None, None, 0),
        ProviderMeta(VTPASS, "mtn-data", "mtn-1gb", 100_000, None, None, None, 1),
        ProviderMeta(FLUTTERWAVE, "BIL108", "MD104", 103_000, None, None, None, 2),
    )


@pytest.mark.parametrize(
    ("biller_code", "biller_name", "name", "slug"),
    [
        ("glo-sme-data", "Glo SME Data", "1GB - 30 days", "glo-data-sme-1gb-30d"),
        ("mtn-data", "MTN Data", "1GB SME - 30 days", "mtn-data-sme-1gb-30d"),
        ("mtn-data", "MTN Data", "1GB Night Plan 1 day", "mtn-data-night-1gb-1d"),
        (
            "mtn-data",
            "MTN Data",
            "2GB Corporate Gifting 30 days",
            "mtn-data-corporate-gifting-2gb-30d",
        ),
        ("etisalat-data", "9mobile Data", "1GB - 30 days", "9mobile-data-1gb-30d"),
        ("airtel-data", "Airtel Data", "1GB - 30 days", "airtel-data-1gb-30d"),
    ],
)
def test_data_qualifiers_make_a_different_product(
    biller_code: str, biller_name: str, name: str, slug: str
) -> None:
    assert (
        only(normalize([plan(biller_code=biller_code, biller_name=biller_name, name=name)])).slug
        == slug
    )


def test_sme_and_plain_bundles_of_one_size_stay_apart() -> None:
    plans = normalize(
        [
            plan(
                VTPASS,
                biller_code="glo-sme-data",
                biller_name="Glo SME Data",
                plan_code="g1",
                name="1GB - 30 days",
                price_kobo=30_000,
            ),
            plan(
                VTPASS,
                biller_code="glo-data",
                biller_name="Glo Data",
                plan_code="g2",
                name="1GB - 30 days",
                price_kobo=50_000,
            ),
        ]
    )
    assert [p.slug for p in plans] == ["glo-data-1gb-30d", "glo-data-sme-1gb-30d"]
    assert [p.name for p in plans] == ["Glo Data 1GB - 30 days", "Glo Data SME 1GB - 30 days"]


def test_a_provider_selling_one_bundle_twice_keeps_the_cheapest_and_lists_the_other() -> None:
    plans = by_slug(
        normalize(
            [
                plan(VTPASS, plan_code="a", name="1GB 30 days", price_kobo=120_000),
                plan(VTPASS, plan_code="b", name="1GB Monthly", price_kobo=100_000),
                plan(
                    INTERSWITCH,
                    biller_code="300",
                    plan_code="c",
                    name="1GB 30d",
                    price_kobo=110_000,
                ),
            ]
        )
    )
    assert set(plans) == {"mtn-data-1gb-30d", "vtpass-mtn-data-a"}
    merged = plans["mtn-data-1gb-30d"]
    assert [(m.provider, m.plan_code) for m in merged.provider_meta] == [
        (INTERSWITCH, "c"),
        (VTPASS, "b"),
    ]
    assert merged.price_kobo == 100_000
    assert plans["vtpass-mtn-data-a"].price_kobo == 120_000


def test_a_range_priced_data_plan_is_not_a_bundle() -> None:
    normalized = only(normalize([plan(name="1GB 30 days", price_kobo=None, min_kobo=100)]))
    assert normalized.slug == "vtpass-mtn-data-code-1"


def test_unknown_networks_keep_their_own_biller() -> None:
    normalized = only(
        normalize(
            [
                plan(
                    biller_code="spectranet",
                    biller_name="Spectranet",
                    plan_code="spec-10",
                    name="Spectranet 10GB 30 days",
                    price_kobo=500_000,
                )
            ]
        )
    )
    assert (normalized.slug, normalized.biller, normalized.biller_name) == (
        "vtpass-spectranet-spec-10",
        "spectranet",
        "Spectranet",
    )
    assert normalized.provider_meta[0].plan_code == "spec-10"


# --- cable TV -------------------------------------------------------------------------------------


def bouquet(
    provider: ProviderName,
    biller_code: str,
    biller_name: str,
    plan_code: str,
    name: str,
    price_kobo: int = 1_570_000,
    validity_days: int | None = None,
) -> ProviderPlan:
    return plan(
        provider,
        BillType.CABLE_TV,
        biller_code,
        biller_name,
        plan_code,
        name,
        price_kobo,
        validity_days=validity_days,
    )


@pytest.mark.parametrize(
    ("biller_code", "biller_name", "name", "slug", "display"),
    [
        ("dstv", "DSTV Subscription", "DStv Compact", "dstv-compact", "DStv Compact"),
        ("dstv", "DSTV Subscription", "dstv-compact", "dstv-compact", "DStv Compact"),
        ("BIL119", "DSTV", "DSTV COMPACT", "dstv-compact", "DStv Compact"),
        ("dstv", "DSTV", "DStv Compact N15,700", "dstv-compact", "DStv Compact"),
        ("dstv", "DSTV", "DStv Compact ₦ 15,700.00", "dstv-compact", "DStv Compact"),
        ("dstv", "DSTV", "DStv Compact Bouquet (NGN 15700)", "dstv-compact", "DStv Compact"),
        ("dstv", "DSTV", "DStv Compact Plus", "dstv-compact-plus", "DStv Compact Plus"),
        ("dstv", "DSTV", "DStv Compact+", "dstv-compact-plus", "DStv Compact Plus"),
        ("gotv", "GOtv Payment", "GOtv Max N7,200", "gotv-max", "GOtv Max"),
        ("gotv", "GOtv Payment", "GOtv Supa+", "gotv-supa-plus", "GOtv Supa Plus"),
        ("gotv", "GOtv", "GOTV MAX Monthly", "gotv-max", "GOtv Max"),
        ("gotv", "GOtv", "GOtv Max - 1 Month", "gotv-max", "GOtv Max"),
        ("gotv", "GOtv", "GOtv Max 31 days", "gotv-max", "GOtv Max"),  # a calendar month
        ("gotv", "GOtv", "GOtv Max 2 months", "gotv-max-60d", "GOtv Max - 60 days"),
        ("startimes", "Startimes", "Nova - 1 Week", "startimes-nova-7d", "StarTimes Nova - 7 days"),
        ("startimes", "StarTimes", "Nova Daily", "startimes-nova-1d", "StarTimes Nova - 1 day"),
        ("startimes", "Star Times", "Basic (Dish)", "startimes-basic-dish", "StarTimes Basic Dish"),
    ],
)
def test_bouquets_are_slugged_by_their_normalized_name(
    biller_code: str, biller_name: str, name: str, slug: str, display: str
) -> None:
    normalized = only(normalize([bouquet(VTPASS, biller_code, biller_name, "p1", name)]))
    assert (normalized.slug, normalized.name) == (slug, display)
    assert normalized.bill_type is BillType.CABLE_TV


def test_one_bouquet_from_three_providers_is_one_plan_at_the_lowest_price() -> None:
    merged = only(
        normalize(
            [
                bouquet(
                    VTPASS, "dstv", "DSTV Subscription", "dstv79", "DStv Compact N15,700", 1_570_000
                ),
                bouquet(FLUTTERWAVE, "BIL119", "DSTV", "CB141", "DSTV COMPACT", 1_570_000),
                bouquet(INTERSWITCH, "104", "DStv", "10401", "dstv-compact", 1_580_000),
            ]
        )
    )
    assert (merged.slug, merged.biller, merged.biller_name) == ("dstv-compact", "dstv", "DStv")
    assert merged.price_kobo == 1_570_000
    assert [m.plan_code for m in merged.provider_meta] == ["10401", "dstv79", "CB141"]


def test_a_bouquet_promises_the_shortest_validity_any_provider_states() -> None:
    merged = only(
        normalize(
            [
                bouquet(VTPASS, "gotv", "GOtv", "a", "GOtv Max", validity_days=31),
                bouquet(INTERSWITCH, "g", "GOtv", "b", "GOtv Max", validity_days=30),
                bouquet(FLUTTERWAVE, "BIL121", "GOTV", "c", "GOTV MAX"),
            ]
        )
    )
    assert merged.validity_days == 30
    assert len(merged.provider_meta) == 3


@pytest.mark.parametrize("name", ["DStv", "DStv N15,700", "DStv Compact 1 week 1 month"])
def test_bouquets_without_a_clear_name_are_kept_unmerged(name: str) -> None:
    assert only(normalize([bouquet(VTPASS, "dstv", "DStv", "x1", name)])).slug == "vtpass-dstv-x1"


def test_flutterwave_biller_code_names_the_biller_when_its_names_do_not() -> None:
    normalized = only(normalize([bouquet(FLUTTERWAVE, "BIL119", "Cable", "CB141", "Compact")]))
    assert normalized.slug == "dstv-compact"


# --- electricity -------------------------------------------------------------------------------


def power(
    provider: ProviderName,
    biller_code: str,
    biller_name: str,
    plan_code: str,
    name: str,
    min_kobo: int | None = None,
    max_kobo: int | None = None,
    meter_type: MeterType | None = None,
) -> ProviderPlan:
    return plan(
        provider,
        BillType.ELECTRICITY,
        biller_code,
        biller_name,
        plan_code,
        name,
        None,
        min_kobo=min_kobo,
        max_kobo=max_kobo,
        meter_type=meter_type,
    )


@pytest.mark.parametrize(
    ("biller_code", "biller_name", "plan_code", "name", "meter_type", "slug"),
    [
        (
            "ikeja-electric",
            "Ikeja Electric Payment - IKEDC",
            "prepaid",
            "Prepaid",
            None,
            "ikeja-electric-prepaid",
        ),
        (
            "ikeja-electric",
            "Ikeja Electric Payment - IKEDC",
            "postpaid",
            "Postpaid",
            None,
            "ikeja-electric-postpaid",
        ),
        (
            "998",
            "Ikeja Electric Prepaid",
            "99801",
            "Token Purchase",
            None,
            "ikeja-electric-prepaid",
        ),
        ("BIL113", "IKEDC  POSTPAID", "UB157", "IKEDC POSTPAID", None, "ikeja-electric-postpaid"),
        ("x", "IKEDC", "1", "Electricity", MeterType.PREPAID, "ikeja-electric-prepaid"),
        (
            "BIL112",
            "EKEDC PREPAID TOPUP",
            "UB134",
            "EKEDC PREPAID TOPUP",
            None,
            "eko-electric-prepaid",
        ),
        (
            "eko-electric",
            "Eko Electric Payment - EKEDC",
            "postpaid",
            "Postpaid",
            None,
            "eko-electric-postpaid",
        ),
        (
            "abuja-electric",
            "Abuja Electricity Distribution Company- AEDC",
            "prepaid",
            "Prepaid",
            None,
            "abuja-electric-prepaid",
        ),
        (
            "kano-electric",
            "KEDCO - Kano Electric",
            "prepaid",
            "Prepaid",
            None,
            "kano-electric-prepaid",
        ),
        (
            "portharcourt-electric",
            "PHED - Port Harcourt Electric",
            "postpaid",
            "Postpaid",
            None,
            "portharcourt-electric-postpaid",
        ),
        ("jos-electric", "Jos Electric - JED", "prepaid", "Prepaid", None, "jos-electric-prepaid"),
        (
            "ibadan-electric",
            "IBEDC - Ibadan Electricity Distribution Company",
            "prepaid",
            "Prepaid",
            None,
            "ibadan-electric-prepaid",
        ),
        (
            "kaduna-electric",
            "Kaduna Electric - KAEDCO",
            "prepaid",
            "Prepaid",
            None,
            "kaduna-electric-prepaid",
        ),
        (
            "enugu-electric",
            "Enugu Electric - EEDC",
            "prepaid",
            "Prepaid",
            None,
            "enugu-electric-prepaid",
        ),
        (
            "benin-electric",
            "Benin Electric - BEDC",
            "prepaid",
            "Prepaid",
            None,
            "benin-electric-prepaid",
        ),
        (
            "aba-electric",
            "Aba Electric Payment - ABEDC",
            "prepaid",
            "Prepaid",
            None,
            "aba-electric-prepaid",
        ),
        (
            "yola-electric",
            "Yola Electric Disco Payment - YEDC",
            "prepaid",
            "Prepaid",
            None,
            "yola-electric-prepaid",
        ),
    ],
)
def test_electricity_is_one_plan_per_disco_and_meter_type(
    biller_code: str,
    biller_name: str,
    plan_code: str,
    name: str,
    meter_type: MeterType | None,
    slug: str,
) -> None:
    normalized = only(
        normalize([power(VTPASS, biller_code, biller_name, plan_code, name, meter_type=meter_type)])
    )
    assert normalized.slug == slug
    assert normalized.meter_type is MeterType(slug.rsplit("-", 1)[1])
    # The connector needs the meter type even when only the name said it.
    assert normalized.provider_meta[0].meter_type is normalized.meter_type


def test_electricity_from_three_providers() -> None:
    plans = by_slug(
        normalize(
            [
                power(
                    VTPASS,
                    "ikeja-electric",
                    "Ikeja Electric Payment - IKEDC",
                    "prepaid",
                    "Prepaid",
                    min_kobo=100_000,
                ),
                power(
                    VTPASS,
                    "ikeja-electric",
                    "Ikeja Electric Payment - IKEDC",
                    "postpaid",
                    "Postpaid",
                    min_kobo=100_000,
                ),
                power(
                    INTERSWITCH,
                    "998",
                    "Ikeja Electric Prepaid",
                    "99801",
                    "Ikeja Token",
                    min_kobo=50_000,
                    max_kobo=100_000_000,
                ),
                power(FLUTTERWAVE, "BIL113", "IKEDC POSTPAID", "UB157", "IKEDC POSTPAID"),
            ]
        )
    )
    assert set(plans) == {"ikeja-electric-prepaid", "ikeja-electric-postpaid"}
    prepaid = plans["ikeja-electric-prepaid"]
    assert (prepaid.name, prepaid.biller, prepaid.biller_name) == (
        "Ikeja Electric Prepaid",
        "ikeja-electric",
        "Ikeja Electric",
    )
    assert (prepaid.min_kobo, prepaid.max_kobo) == (100_000, 100_000_000)
    assert [m.provider for m in prepaid.provider_meta] == [INTERSWITCH, VTPASS]
    assert [m.provider for m in plans["ikeja-electric-postpaid"].provider_meta] == [
        VTPASS,
        FLUTTERWAVE,
    ]


def test_electricity_without_a_meter_type_is_kept_unmerged() -> None:
    normalized = only(normalize([power(INTERSWITCH, "998", "Ikeja Electric", "99801", "Token")]))
    assert normalized.slug == "interswitch-998-99801"
    assert normalized.biller == "ikeja-electric"


def test_a_disco_name_only_counts_for_electricity() -> None:
    # "Jos" names a disco, but a betting plan from a biller called Jos is not electricity.
    normalized = only(normalize([plan(VTPASS, BillType.BETTING, "jos", "Jos", "jos", "Jos", None)]))
    assert (normalized.slug, normalized.biller) == ("vtpass-jos-jos", "jos")


# --- betting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("biller_name", "slug", "display"),
    [
        ("Bet9ja", "bet9ja-wallet", "Bet9ja Wallet Funding"),
        ("BET 9JA", "bet9ja-wallet", "Bet9ja Wallet Funding"),
        ("SportyBet", "sportybet-wallet", "SportyBet Wallet Funding"),
        ("Sporty Bet Nigeria", "sportybet-wallet", "SportyBet Wallet Funding"),
        ("NairaBet", "nairabet-wallet", "NairaBet Wallet Funding"),
        ("BetKing", "betking-wallet", "BetKing Wallet Funding"),
        ("1xBet", "1xbet-wallet", "1xBet Wallet Funding"),
        ("MerryBet", "merrybet-wallet", "MerryBet Wallet Funding"),
        ("Betway", "betway-wallet", "Betway Wallet Funding"),
        ("MSport", "msport-wallet", "MSport Wallet Funding"),
        ("BangBet", "bangbet-wallet", "BangBet Wallet Funding"),
    ],
)
def test_betting_is_one_plan_per_bookmaker(biller_name: str, slug: str, display: str) -> None:
    normalized = only(
        normalize(
            [plan(INTERSWITCH, BillType.BETTING, "700", biller_name, "70001", "Top up", None)]
        )
    )
    assert (normalized.slug, normalized.name) == (slug, display)


def test_betting_from_two_providers_merges() -> None:
    merged = only(
        normalize(
            [
                plan(
                    INTERSWITCH,
                    BillType.BETTING,
                    "700",
                    "Bet9ja",
                    "70001",
                    "Bet9ja Top-up",
                    None,
                    min_kobo=10_000,
                ),
                plan(
                    VTPASS,
                    BillType.BETTING,
                    "bet9ja",
                    "Bet9ja Wallet",
                    "bet9ja",
                    "Bet9ja",
                    None,
                    min_kobo=20_000,
                    max_kobo=50_000_000,
                ),
            ]
        )
    )
    assert merged.slug == "bet9ja-wallet"
    assert (merged.min_kobo, merged.max_kobo) == (20_000, 50_000_000)


# --- priority, fallbacks, duplicates -------------------------------------------------------------


def test_default_priority_puts_interswitch_first() -> None:
    assert DEFAULT_PROVIDER_PRIORITY == (INTERSWITCH, VTPASS, FLUTTERWAVE)


def test_priority_is_configurable_and_unlisted_providers_come_last_alphabetically() -> None:
    sources = [
        airtime(VTPASS, "mtn", "MTN"),
        airtime(FLUTTERWAVE, "BIL099", "MTN VTU"),
        airtime(INTERSWITCH, "109", "MTN Nigeria"),
    ]
    merged = only(normalize(sources, provider_priority=(VTPASS,)))
    assert [(m.provider, m.priority) for m in merged.provider_meta] == [
        (VTPASS, 0),
        (FLUTTERWAVE, 1),
        (INTERSWITCH, 2),
    ]
    merged = only(normalize(sources, provider_priority=(FLUTTERWAVE, VTPASS, INTERSWITCH)))
    assert [m.provider for m in merged.provider_meta] == [FLUTTERWAVE, VTPASS, INTERSWITCH]


def test_unmatched_products_get_a_slug_from_provider_and_codes() -> None:
    normalized = only(
        normalize([plan(VTPASS, BillType.CABLE_TV, "showmax", "Showmax", "full_3", "Full ", None)])
    )
    assert normalized.slug == "vtpass-showmax-full-3"
    assert normalized.name == "Full"
    assert normalized.biller == "showmax"


def test_codes_listed_twice_by_one_provider_are_one_product() -> None:
    twice = plan(plan_code="dup", name="something odd")
    assert len(normalize([twice, twice])) == 1


def test_codes_that_slug_alike_are_told_apart_by_a_digest() -> None:
    plans = normalize(
        [
            plan(plan_code="A_B", name="odd 1"),
            plan(plan_code="a-b", name="odd 2"),
            plan(plan_code="zz", name="odd 3"),
        ]
    )
    slugs = [p.slug for p in plans]
    assert len(set(slugs)) == 3
    assert "vtpass-mtn-data-zz" in slugs
    assert sum(s.startswith("vtpass-mtn-data-a-b-") and len(s) == 28 for s in slugs) == 2


def test_output_is_sorted_by_slug() -> None:
    plans = normalize(
        [
            airtime(VTPASS, "mtn", "MTN"),
            airtime(VTPASS, "airtel", "Airtel"),
            plan(name="1GB 30 days"),
        ]
    )
    assert [p.slug for p in plans] == ["airtel-airtime", "mtn-airtime", "mtn-data-1gb-30d"]


def test_empty_catalog() -> None:
    assert normalize([]) == []


# --- properties -----------------------------------------------------------------------------------

_NAMES_BY_TYPE = {
    BillType.AIRTIME: (["MTN", "MTN Nigeria", "Airtel", "9mobile", "Etisalat", "Smile"], ["VTU"]),
    BillType.DATA: (
        ["MTN Data", "Glo SME Data", "Airtel", "9mobile Data", "Spectranet"],
        ["1GB 30 days", "1.5GB monthly", "500MB - 24 hrs", "1GB", "2GB SME 7 days", "1024MB 30d"],
    ),
    BillType.CABLE_TV: (
        ["DStv", "GOtv", "StarTimes", "Showmax"],
        ["Compact", "Compact N15,700", "Max", "Supa+", "Nova - 1 Week", "Premium"],
    ),
    BillType.ELECTRICITY: (
        ["Ikeja Electric", "IKEDC Prepaid", "EKEDC", "Abuja", "Unknown Disco"],
        ["Prepaid", "Postpaid", "Token"],
    ),
    BillType.BETTING: (["Bet9ja", "SportyBet", "Lucky Bet"], ["Wallet"]),
}


@st.composite
def provider_plans(draw: st.DrawFn) -> ProviderPlan:
    bill_type = draw(st.sampled_from(list(BillType)))
    billers, names = _NAMES_BY_TYPE[bill_type]
    fixed = bill_type in (BillType.DATA, BillType.CABLE_TV)
    return ProviderPlan(
        provider=draw(st.sampled_from(list(ProviderName))),
        bill_type=bill_type,
        biller_code=draw(st.sampled_from(["b1", "b2", "B-2"])),
        biller_name=draw(st.sampled_from(billers)),
        plan_code=draw(st.sampled_from(["p1", "p2", "P_2", "p3"])),
        name=draw(st.sampled_from(names)),
        price_kobo=draw(st.integers(1, 5) if fixed else st.none()),
        min_kobo=draw(st.none() | st.integers(1, 5)),
        max_kobo=draw(st.none() | st.integers(3, 9)),
        validity_days=draw(st.none() | st.sampled_from([1, 30])),
        meter_type=draw(st.none() | st.sampled_from(list(MeterType))),
    )


@settings(max_examples=300)
@given(st.lists(provider_plans(), max_size=25), st.randoms(use_true_random=False))
def test_normalize_is_deterministic_and_independent_of_input_order(
    plans: list[ProviderPlan], rng: random.Random
) -> None:
    shuffled = list(plans)
    rng.shuffle(shuffled)
    assert normalize(shuffled) == normalize(plans) == normalize(list(reversed(plans)))


@settings(max_examples=300)
@given(st.lists(provider_plans(), max_size=25))
def test_nothing_is_lost_and_each_plan_has_one_entry_per_provider(
    plans: list[ProviderPlan],
) -> None:
    normalized = normalize(plans)
    slugs = [p.slug for p in normalized]
    assert len(slugs) == len(set(slugs))
    listed = Counter(
        (meta.provider, meta.biller_code, meta.plan_code)
        for p in normalized
        for meta in p.provider_meta
    )
    # Every distinct provider product appears in exactly one plan.
    assert listed == Counter({(p.provider, p.biller_code, p.plan_code) for p in plans})
    for p in normalized:
        providers = [meta.provider for meta in p.provider_meta]
        assert len(providers) == len(set(providers))
        assert [m.priority for m in p.provider_meta] == sorted(m.priority for m in p.provider_meta)
        fixed = [m.price_kobo for m in p.provider_meta if m.price_kobo is not None]
        if fixed:
            assert p.price_kobo == min(fixed)


@given(
    st.sampled_from(
        [
            ("MTN Data", "MTN 1GB - 30 days", "MTN Nigeria", "1GB Monthly"),
            ("DStv", "DStv Compact N15,700", "DSTV", "DSTV COMPACT"),
            ("GOtv", "GOtv Supa+", "GOTV", "gotv-supa-plus"),
        ]
    ),
    st.sampled_from(list(ProviderName)),
    st.sampled_from(list(ProviderName)),
    st.integers(1, 10_000_000),
    st.integers(1, 10_000_000),
)
def test_a_plan_sold_by_two_providers_yields_one_plan_with_two_entries(
    names: tuple[str, str, str, str],
    first: ProviderName,
    second: ProviderName,
    first_price: int,
    second_price: int,
) -> None:
    if first is second:
        return
    bill_type = BillType.DATA if "Data" in names[0] else BillType.CABLE_TV
    merged = only(
        normalize(
            [
                plan(first, bill_type, "x", names[0], "a", names[1], first_price),
                plan(second, bill_type, "y", names[2], "b", names[3], second_price),
            ]
        )
    )
    assert {m.provider for m in merged.provider_meta} == {first, second}
    assert merged.price_kobo == min(first_price, second_price)
