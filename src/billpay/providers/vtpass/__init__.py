"""VTpass: airtime, data, cable TV and electricity (providers.md §1)."""

from billpay.config import PROVIDER_FIELDS, Settings
from billpay.providers.base import ProviderName, ProviderRegistration
from billpay.providers.vtpass.connector import VTpassConnector


def configured(settings: Settings) -> bool:
    """Routed to only with every key: the catalog GETs need the public key too (a partial
    configuration is refused at startup: ``config.check_provider_settings``)."""
    return all(getattr(settings, field) for field in PROVIDER_FIELDS["vtpass"].required)


REGISTRATION = ProviderRegistration(ProviderName.VTPASS, configured, VTpassConnector)

__all__ = ["REGISTRATION", "VTpassConnector", "configured"]
