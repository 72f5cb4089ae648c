"""Interswitch Quickteller v5 bill payments (providers.md §3)."""

from billpay.providers.interswitch.connector import InterswitchConnector

__all__ = ["InterswitchConnector"]
