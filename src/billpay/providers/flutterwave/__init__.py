"""Flutterwave v3 Bills (providers.md §2)."""

from billpay.config import PROVIDER_FIELDS, Settings
from billpay.providers.base import ProviderName, ProviderRegistration
from billpay.providers.flutterwave.connector import FlutterwaveConnector


def configured(settings: Settings) -> bool:
    return all(getattr(settings, field) for field in PROVIDER_FIELDS["flutterwave"].required)


REGISTRATION = ProviderRegistration(ProviderName.FLUTTERWAVE, configured, FlutterwaveConnector)

__all__ = ["REGISTRATION", "FlutterwaveConnector", "configured"]
