"""A Horizon simulator: stellar-sdk talks to it over real HTTP as it would to Horizon."""

from billpay.sandbox.horizon.app import create_app
from billpay.sandbox.horizon.faults import FaultSettings
from billpay.sandbox.horizon.friendbot import (
    CngnNetwork,
    bootstrap_cngn,
    create_payer,
    signed_payment,
)
from billpay.sandbox.horizon.state import HorizonState, TrustlineGrant

__all__ = [
    "CngnNetwork",
    "FaultSettings",
    "HorizonState",
    "TrustlineGrant",
    "bootstrap_cngn",
    "create_app",
    "create_payer",
    "signed_payment",
]
