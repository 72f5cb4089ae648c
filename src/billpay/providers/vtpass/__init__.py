"""VTpass: airtime, data, cable TV and electricity (providers.md §1)."""

from billpay.providers.vtpass.connector import VTpassConnector

__all__ = ["VTpassConnector"]
