"""cNGN on Stellar as a ``FundingSource`` (DESIGN §3): the payer sends the payment's total in
cNGN to the system account with the memo ``BILL-<short id>``.

``instructions`` only says what to do. Deposits confirm themselves: the deposit watcher
(``watcher.py``, a process of its own) streams the account's payments and matches each one
as it arrives (``matching.py``). The refunder (``refunder.py``, a periodic job) sends money
back. Stellar sends no webhooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.funding.base import (
    FundingContext,
    FundingJob,
    FundingOpened,
    FundingWebhook,
    WebhookHint,
)
from billpay.funding.stellar.config import StellarConfig
from billpay.funding.stellar.memo import payment_memo
from billpay.models import Payment
from billpay.money import kobo_to_stellar
from billpay.payments.schemas import FundingMethod


async def run_refunds(context: FundingContext) -> int:
    """The refunder's beat, loaded on its first run: it signs with stellar-sdk, which takes
    half a second to import, after the worker is already at work."""
    from billpay.funding.stellar.refunder import run_refunds as run

    return await run(context)


class StellarFunding:
    """Tells the payer how to pay a payment's total in cNGN."""

    method = FundingMethod.STELLAR
    funded_at_create = False

    def __init__(self, config: StellarConfig) -> None:
        self.config = config

    async def instructions(self, session: AsyncSession, payment: Payment) -> FundingOpened:
        expires_at = datetime.now(UTC) + self.config.payment_expiry
        return FundingOpened(
            instructions={
                "method": self.method.value,
                "destination": self.config.account,
                "asset_code": self.config.asset.code,
                "asset_issuer": self.config.asset.issuer,
                "amount": kobo_to_stellar(payment.total_kobo),
                "memo": payment_memo(payment.short_id),  # ≤ 28 bytes, checked by stellar-sdk
                "memo_type": "text",
                "expires_at": expires_at.isoformat(),
            },
            expires_at=expires_at,
        )

    async def confirm(self, context: FundingContext, reference: str, *, actor: str) -> str:
        return "nothing to do: the deposit watcher matches Stellar deposits as they arrive"

    async def refund(self, context: FundingContext, reference: str) -> str:
        return "nothing to do: the Stellar refunder picks up refunding payments on its beat"

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> FundingWebhook | None:
        return None

    def webhook_hint(self, kind: str) -> WebhookHint:
        return WebhookHint.NONE

    def periodic_jobs(self) -> tuple[FundingJob, ...]:
        return (run_refunds,)
