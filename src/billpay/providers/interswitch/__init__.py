"""Interswitch Quickteller v5 bill payments (providers.md §3)."""

from billpay.config import Settings
from billpay.providers.base import ProviderName, ProviderRegistration
from billpay.providers.interswitch.connector import InterswitchConnector


def configured(settings: Settings) -> bool:
    return bool(
        settings.interswitch_base_url
        and settings.interswitch_passport_url
        and settings.interswitch_client_id
        and settings.interswitch_client_secret
        and settings.interswitch_terminal_id
    )


REGISTRATION = ProviderRegistration(ProviderName.INTERSWITCH, configured, InterswitchConnector)

__all__ = ["REGISTRATION", "InterswitchConnector", "configured"]
