"""cNGN in the NGN ledger (DESIGN §1.6): a deposit is money received from the payers' side
(``external:stellar → funding:stellar:held``), a refund is money returned to it. Only the
configured cNGN counts: 1 cNGN = 1 NGN, so a whole number of kobo is exact. Other assets a
payer sends by mistake are returned in kind and never enter the NGN books.

Network fees are paid in XLM by the system account. They stay outside the NGN ledger: XLM
has no fixed naira value, and converting it at some rate would put an inexact number into
an exact ledger. Each refund stores the fee the network charged (``fee_charged_stroops``)
for the operator's XLM accounting, and ``billpay stellar check`` compares cNGN only.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.ledger import accounts
from billpay.ledger import service as ledger
from billpay.ledger.repository import Posting, balance_of
from billpay.payments.schemas import FundingMethod

METHOD = FundingMethod.STELLAR.value


async def receive(
    session: AsyncSession, payment_id: uuid.UUID | None, amount_kobo: int, memo: str
) -> None:
    """cNGN arrived and is held (for ``payment_id`` when the deposit named one)."""
    await ledger.post(
        session,
        [
            Posting(
                accounts.external_funding(METHOD),
                accounts.funding_held(METHOD),
                amount_kobo,
                "funds_received",
                memo[:300],
            )
        ],
        payment_id,
    )


async def give_back(
    session: AsyncSession, payment_id: uuid.UUID | None, amount_kobo: int, kind: str, memo: str
) -> None:
    """cNGN left the system account back to its payer (a refund, or an overpayment's excess)."""
    await ledger.post(
        session,
        [
            Posting(
                accounts.funding_held(METHOD),
                accounts.external_funding(METHOD),
                amount_kobo,
                kind,
                memo[:300],
            )
        ],
        payment_id,
    )


async def quarantine(
    session: AsyncSession, payment_id: uuid.UUID | None, amount_kobo: int, why: str
) -> None:
    """cNGN that cannot go back on its own (its refund was quarantined, and no payment under
    review holds it): out of the clearing account into suspense, for an operator. It is still
    on the system account, so ``net_received_kobo`` is unchanged."""
    await ledger.quarantine(session, payment_id, METHOD, amount_kobo, why)


async def net_received_kobo(session: AsyncSession) -> int:
    """The ledger's view of the cNGN the system account holds: received minus returned."""
    return -await balance_of(session, accounts.external_funding(METHOD))
