"""Flutterwave v3 Bills (providers.md §2)."""

from billpay.config import Settings
from billpay.providers.base import ProviderName, ProviderRegistration
from billpay.providers.flutterwave.connector import FlutterwaveConnector


def configured(settings: Settings) -> bool:
    return bool(settings.flutterwave_base_url and settings.flutterwave_secret_key)


REGISTRATION = ProviderRegistration(ProviderName.FLUTTERWAVE, configured, FlutterwaveConnector)

__all__ = ["REGISTRATION", "FlutterwaveConnector", "configured"]
