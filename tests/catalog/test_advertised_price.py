"""One advertised price per fixed-price plan: the operator's list price, else the lowest
provider price; each provider's own price stays on its route (its cost)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from billpay.catalog.merge import normalize
from billpay.config import Settings
from billpay.providers.base import BillType, ProviderName, ProviderPlan

VTPASS, FLUTTERWAVE, INTERSWITCH = (
    ProviderName.VTPASS,
    ProviderName.FLUTTERWAVE,
    ProviderName.INTERSWITCH,
)
SLUG = "mtn-data-1gb-30d"


def bundle(provider: ProviderName, price_kobo: int) -> ProviderPlan:
    return ProviderPlan(
        provider=provider,
        bill_type=BillType.DATA,
        biller_code="mtn-data",
        biller_name="MTN Data",
        plan_code=f"{provider.value}-1gb",
        name="MTN 1GB - 30 days",
        price_kobo=price_kobo,
    )


def airtime(provider: ProviderName) -> ProviderPlan:
    return ProviderPlan(
        provider=provider,
        bill_type=BillType.AIRTIME,
        biller_code="mtn",
        biller_name="MTN",
        plan_code="mtn",
        name="MTN Airtime",
        price_kobo=None,
        min_kobo=5_000,
        max_kobo=5_000_000,
    )


@given(st.lists(st.integers(1, 10_000_000), min_size=1, max_size=3))
def test_the_advertised_price_is_the_lowest_and_every_route_keeps_its_own(
    prices: list[int],
) -> None:
    providers = (VTPASS, FLUTTERWAVE, INTERSWITCH)[: len(prices)]
    [merged] = normalize([bundle(p, price) for p, price in zip(providers, prices, strict=False)])
    assert merged.price_kobo == min(prices)
    assert {meta.provider: meta.price_kobo for meta in merged.provider_meta} == dict(
        zip(providers, prices, strict=False)
    )


def test_a_list_price_is_the_advertised_price_and_costs_are_unchanged() -> None:
    [merged] = normalize(
        [bundle(VTPASS, 100_000), bundle(INTERSWITCH, 98_000)], list_prices={SLUG: 105_000}
    )
    assert merged.price_kobo == 105_000
    assert sorted(meta.price_kobo or 0 for meta in merged.provider_meta) == [98_000, 100_000]


def test_a_list_price_below_every_cost_is_still_the_price() -> None:
    # The operator's decision; routing then sells it only where loss routes are allowed.
    [merged] = normalize([bundle(VTPASS, 100_000)], list_prices={SLUG: 90_000})
    assert merged.price_kobo == 90_000


def test_an_any_amount_plan_has_no_single_price_to_list() -> None:
    [merged] = normalize([airtime(VTPASS)], list_prices={"mtn-airtime": 10_000})
    assert merged.price_kobo is None
    assert (merged.min_kobo, merged.max_kobo) == (5_000, 5_000_000)


def test_list_prices_and_loss_routes_are_settings() -> None:
    settings = Settings.model_validate(
        {"BILLPAY_PLAN_PRICES": {SLUG: 105_000}, "BILLPAY_ALLOW_LOSS_ROUTES": "true"}
    )
    assert settings.plan_prices == {SLUG: 105_000}
    assert settings.allow_loss_routes
