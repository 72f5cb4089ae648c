"""Provider name → connector. Adding a provider: one folder, one enum member, one line here.

A provider with no credentials is simply not built, and so never routed to.
"""

from __future__ import annotations

from collections.abc import Callable

from billpay.config import Settings
from billpay.providers.base import BillProvider, ProviderName
from billpay.providers.flutterwave import FlutterwaveConnector
from billpay.providers.interswitch import InterswitchConnector
from billpay.providers.vtpass import VTpassConnector


def _vtpass_configured(s: Settings) -> bool:
    return bool(
        s.vtpass_base_url and s.vtpass_api_key and s.vtpass_secret_key and s.vtpass_public_key
    )


def _flutterwave_configured(s: Settings) -> bool:
    return bool(s.flutterwave_base_url and s.flutterwave_secret_key)


def _interswitch_configured(s: Settings) -> bool:
    return bool(
        s.interswitch_base_url
        and s.interswitch_passport_url
        and s.interswitch_client_id
        and s.interswitch_client_secret
        and s.interswitch_terminal_id
    )


CONNECTORS: dict[
    ProviderName, tuple[Callable[[Settings], bool], Callable[[Settings], BillProvider]]
] = {
    ProviderName.VTPASS: (_vtpass_configured, VTpassConnector),
    ProviderName.FLUTTERWAVE: (_flutterwave_configured, FlutterwaveConnector),
    ProviderName.INTERSWITCH: (_interswitch_configured, InterswitchConnector),
}


def build_providers(settings: Settings) -> dict[ProviderName, BillProvider]:
    return {
        name: factory(settings)
        for name, (configured, factory) in CONNECTORS.items()
        if configured(settings)
    }
