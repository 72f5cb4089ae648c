"""VTpass: airtime, data, cable TV and electricity (providers.md §1)."""

from billpay.config import Settings
from billpay.providers.base import ProviderName, ProviderRegistration
from billpay.providers.vtpass.connector import VTpassConnector


def configured(settings: Settings) -> bool:
    """Routed to only with every key: the catalog GETs need the public key too."""
    return bool(
        settings.vtpass_base_url
        and settings.vtpass_api_key
        and settings.vtpass_secret_key
        and settings.vtpass_public_key
    )


REGISTRATION = ProviderRegistration(ProviderName.VTPASS, configured, VTpassConnector)

__all__ = ["REGISTRATION", "VTpassConnector", "configured"]
