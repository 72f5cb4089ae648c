"""Interswitch Quickteller v5 bill payments (providers.md §3)."""

from billpay.config import PROVIDER_FIELDS, Settings
from billpay.providers.base import ProviderName, ProviderRegistration
from billpay.providers.interswitch.connector import InterswitchConnector


def configured(settings: Settings) -> bool:
    return all(getattr(settings, field) for field in PROVIDER_FIELDS["interswitch"].required)


REGISTRATION = ProviderRegistration(ProviderName.INTERSWITCH, configured, InterswitchConnector)

__all__ = ["REGISTRATION", "InterswitchConnector", "configured"]
