"""Periodic jobs of the payer-funded methods, run by the worker on its beat.

Each takes the process's ``AppState`` (it calls out to the funding provider with no database
transaction open) and does nothing when its method is not configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from billpay.funding.paystack.collection import verify_awaiting
from billpay.funding.paystack.refunder import run_refunds
from billpay.funding.stellar.refunder import run_refunds as run_stellar_refunds
from billpay.state import AppState

FUNDING_JOBS: tuple[Callable[[AppState], Awaitable[int]], ...] = (
    verify_awaiting,
    run_refunds,
    run_stellar_refunds,
)
