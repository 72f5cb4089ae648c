"""What every funding method is (DESIGN §3), and what its jobs are given.

Each method — the merchant's prepaid balance, cNGN on Stellar, a Paystack checkout — is a
``FundingSource``; ``registry.py`` holds the ones a process offers. Its verbs:

- ``instructions``: inside the transaction that creates the payment, prepare collection and
  say what the payer must do (not asked of the balance: the statement that creates a balance
  payment reserves its total, so it starts funded);
- ``confirm``: money may have arrived — ask the source and apply its answer through
  ``settlement.fund``, or refund what does not match;
- ``refund``: money must go back — see that it does, at most once;
- ``parse_webhook`` / ``webhook_hint``: authenticate a notification from the source, and say
  what a stored one prompts (webhooks are hints: ``confirm`` asks the source itself);
- ``periodic_jobs``: what the worker runs on its beat for this source.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db.context import JobContext
from billpay.models import Payment
from billpay.payments.schemas import FundingMethod


@dataclass(frozen=True)
class FundingOpened:
    """What the payer must do, and until when the payment waits for them."""

    instructions: dict[str, Any]
    expires_at: datetime


@dataclass(frozen=True)
class FundingWebhook:
    """An authenticated notification from a funding source, as the inbox stores it."""

    event_id: str  # the same on every retry of one notification: stored once
    kind: str  # the source's own name for it, e.g. Paystack's "charge.success"
    reference: str | None  # the source's reference of the payment it is about
    claimed_status: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)  # masked


class WebhookHint(enum.Enum):
    """What a stored funding webhook prompts the inbox to do."""

    FUNDS = "funds"  # money may have arrived: ``confirm``
    REFUND = "refund"  # a refund moved: ``refund``
    NONE = "none"  # recorded, nothing to do


class FundingContext(JobContext, Protocol):
    """What a funding job needs of its process (``AppState`` is one)."""


# A periodic job: does what is due and returns how many items it looked at.
FundingJob = Callable[[FundingContext], Awaitable[int]]


class FundingSource(Protocol):
    @property
    def method(self) -> FundingMethod: ...

    @property
    def funded_at_create(self) -> bool:
        """True when the money is held as the payment is created (balance: the creating
        statement reserves it, ``payments.repository.insert_reserved``): it starts
        ``pending``, and ``instructions`` is not asked. Otherwise it waits for the payer in
        ``awaiting_funds``."""
        ...

    async def instructions(self, session: AsyncSession, payment: Payment) -> FundingOpened | None:
        """Inside the creating transaction of a payment that is not ``funded_at_create``:
        what the payer must do. Raises an ``ApiError`` to refuse the payment."""
        ...

    async def confirm(self, context: FundingContext, reference: str, *, actor: str) -> str:
        """Money may have arrived for the payment behind ``reference``: ask the source how
        much and apply it. Idempotent. Returns what was done."""
        ...

    async def refund(self, context: FundingContext, reference: str) -> str:
        """The money of the payment behind ``reference`` must go back (or is on its way):
        see to it now. Idempotent: money goes back at most once. Returns what was done."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> FundingWebhook | None:
        """An authenticated notification, or None when this source takes no webhooks.
        Raises ``WebhookRejected`` (``providers.base``) for a forged or malformed one."""
        ...

    def webhook_hint(self, kind: str) -> WebhookHint:
        """What a stored notification of ``kind`` prompts."""
        ...

    def periodic_jobs(self) -> tuple[FundingJob, ...]:
        """The jobs the worker runs on its beat for this source."""
        ...
