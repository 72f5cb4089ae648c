"""A provider whose own price is above what the payer pays is a loss route: skipped, with the
reason on the attempt, unless loss routes are allowed."""

from __future__ import annotations

from billpay.catalog.plan import ProviderMeta
from billpay.providers.base import ProviderName
from billpay.routing.router import choose_route

VTPASS, FLUTTERWAVE, INTERSWITCH = (
    ProviderName.VTPASS,
    ProviderName.FLUTTERWAVE,
    ProviderName.INTERSWITCH,
)
ALL = frozenset(ProviderName)


def offer(provider: ProviderName, priority: int, price_kobo: int | None) -> ProviderMeta:
    return ProviderMeta(provider, "b", "p", price_kobo, None, None, None, priority)


OFFERS = (offer(INTERSWITCH, 0, 450_000), offer(VTPASS, 1, 500_000), offer(FLUTTERWAVE, 2, 450_000))


def test_a_dearer_route_is_skipped_with_its_reason() -> None:
    route = choose_route(OFFERS, ALL, {}, [INTERSWITCH], price_kobo=450_000)
    assert [(c.provider, c.eligible, c.reason) for c in route] == [
        (VTPASS, False, "skipped: costs 500000 kobo, above the price of 450000"),
        (FLUTTERWAVE, True, "fallback after interswitch failed"),
    ]


def test_allowed_loss_routes_are_eligible_and_say_so() -> None:
    route = choose_route(OFFERS, ALL, {}, [INTERSWITCH], price_kobo=450_000, allow_loss=True)
    assert [(c.provider, c.eligible, c.reason) for c in route] == [
        (VTPASS, True, "fallback after interswitch failed, at a loss of 50000 kobo"),
        (FLUTTERWAVE, True, "fallback after vtpass failed"),
    ]


def test_any_amount_offers_are_never_loss_routes() -> None:
    route = choose_route([offer(VTPASS, 0, None)], ALL, {}, [], price_kobo=1)
    assert [(c.provider, c.eligible) for c in route] == [(VTPASS, True)]


def test_without_a_price_nothing_is_filtered() -> None:
    assert all(choice.eligible for choice in choose_route(OFFERS, ALL, {}, []))
