"""Provider name → connector. Adding a provider: one folder, one enum member, one entry here.

Each provider's folder says when it is configured and how it is built (its ``REGISTRATION``);
a provider with no credentials is simply not built, and so never routed to.
"""

from __future__ import annotations

from billpay.config import Settings
from billpay.providers import flutterwave, interswitch, vtpass
from billpay.providers.base import BillProvider, ProviderName, ProviderRegistration

REGISTRATIONS: tuple[ProviderRegistration, ...] = (
    vtpass.REGISTRATION,
    flutterwave.REGISTRATION,
    interswitch.REGISTRATION,
)


def build_providers(settings: Settings) -> dict[ProviderName, BillProvider]:
    return {
        registration.name: registration.build(settings)
        for registration in REGISTRATIONS
        if registration.configured(settings)
    }
