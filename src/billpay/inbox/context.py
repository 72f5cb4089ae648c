"""What the inbox needs from the running process (the process's ``AppState`` is one).

The inbox dispatches to the providers (purchase updates, requeried through ``recheck``) and to
the funding sources (``confirm`` and ``refund``), so its context is both of theirs, plus the
funding registry it looks sources up in.
"""

from __future__ import annotations

from typing import Protocol

from billpay.funding.base import FundingContext
from billpay.funding.registry import FundingRegistry
from billpay.payments.context import PaymentsContext


class InboxContext(PaymentsContext, FundingContext, Protocol):
    @property
    def funding(self) -> FundingRegistry: ...
