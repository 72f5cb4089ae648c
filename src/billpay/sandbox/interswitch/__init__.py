"""Interswitch Quickteller v5 simulator (providers.md §3) with its own record of vends."""

from billpay.sandbox.interswitch.app import create_app
from billpay.sandbox.interswitch.state import Fault, FaultName, InterswitchSandboxState

__all__ = ["Fault", "FaultName", "InterswitchSandboxState", "create_app"]
