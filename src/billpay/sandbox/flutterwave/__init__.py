"""Flutterwave v3 Bills simulator (providers.md §2): a record of its vends, and fault injection."""

from billpay.sandbox.flutterwave.app import SANDBOX_SECRET_HASH, SANDBOX_SECRET_KEY, create_app
from billpay.sandbox.flutterwave.state import Fault, FaultKind, FlutterwaveSandboxState, Operation

__all__ = [
    "SANDBOX_SECRET_HASH",
    "SANDBOX_SECRET_KEY",
    "Fault",
    "FaultKind",
    "FlutterwaveSandboxState",
    "Operation",
    "create_app",
]
