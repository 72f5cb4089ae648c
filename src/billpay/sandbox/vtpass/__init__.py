"""A VTpass simulator speaking VTpass's wire contract (providers.md §1), with fault injection."""

from billpay.sandbox.vtpass.app import create_app
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import SandboxOptions, VTpassSandboxState

__all__ = [
    "FaultKind",
    "FaultRule",
    "Faults",
    "SandboxOptions",
    "VTpassSandboxState",
    "create_app",
]
