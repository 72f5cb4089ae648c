"""Flutterwave v3 Bills (providers.md §2)."""

from billpay.providers.flutterwave.connector import FlutterwaveConnector

__all__ = ["FlutterwaveConnector"]
