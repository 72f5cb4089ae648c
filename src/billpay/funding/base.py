"""A funding source's verbs (DESIGN §3): instructions, confirm, refund.

``balance`` is built into payment creation (an atomic reservation). Payer-funded methods
(Stellar, Paystack) implement ``FundingSource``: ``open`` runs when the payment is created and
returns what the payer must do; confirmation arrives later (a deposit, a webhook, a verify)
and calls ``settlement.fund``; refunds are picked up by the method's own refunder from
payments in ``refunding`` and finish with ``settlement.refund_completed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.models import Payment


@dataclass(frozen=True)
class FundingOpened:
    instructions: dict[str, Any]
    expires_at: datetime


class FundingSource(Protocol):
    method: str

    async def open(self, session: AsyncSession, payment: Payment) -> FundingOpened:
        """Prepare collection (inside the creating transaction) and say what the payer must do."""
        ...
