"""What a deposit does: the matching policy (pure) and the service that applies it.

Policy (DESIGN §3), for a deposit to the system account, in this order:

1. **Dust** — less than 0.01 of a unit of its asset: nothing whole can go back. Quarantined.
2. **No memo / unknown memo** — the memo names no Stellar payment (``BILL-<short id>``, ASCII
   case and surrounding spaces forgiven). Refunded to the sender in the asset received, with a
   return-hash memo of the deposit's transaction.
3. **Wrong asset** — not the configured cNGN (code *and* issuer), XLM included. Refunded in the
   asset received; the payment is untouched (it can still be paid in cNGN before it expires).
4. **Expired** payment, or one **not awaiting** funds any more (already funded, finished).
   Refunded; the payment is untouched.
5. **Late** (the network applied it after the payment's window closed, before the expiry job
   ran), **inexact** (not a whole number of kobo) or **underpaid**: never vended. The payment
   goes ``awaiting_funds → refunding`` and the refund of the deposit ends it (``refunded``).
6. **Exact** — the payment is funded (``pending``).
7. **Overpaid** — the payment is funded with everything received and the excess goes back.

A refund never exceeds what was received: it is the received amount rounded down to 0.01 of
a unit (a kobo for cNGN). A path payment counts by the amount received. Refunds whose
destination cannot take them (no trustline, account gone) are quarantined by the refunder.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.funding.stellar import books
from billpay.funding.stellar import repository as repo
from billpay.funding.stellar.memo import parse_payment_memo, refund_memo
from billpay.funding.stellar.records import DepositRecord, StellarAsset
from billpay.funding.stellar.states import DepositState, RefundStatus
from billpay.models import Payment
from billpay.money import stellar_floor_kobo
from billpay.payments import settlement
from billpay.payments.status import Status

ACTOR = "stellar-watcher"


class Verdict(enum.StrEnum):
    EXACT = "exact"
    OVERPAID = "overpaid"
    UNDERPAID = "underpaid"
    INEXACT = "inexact_amount"
    LATE = "late"
    EXPIRED = "expired"
    NOT_AWAITING = "not_awaiting"
    WRONG_ASSET = "wrong_asset"
    UNKNOWN_MEMO = "unknown_memo"
    NO_MEMO = "no_memo"
    DUST = "dust"


FUNDING = frozenset({Verdict.EXACT, Verdict.OVERPAID})
# The payment is turned down by this deposit: awaiting_funds → refunding, ended by the refund.
REJECTING = frozenset({Verdict.UNDERPAID, Verdict.INEXACT, Verdict.LATE})


@dataclass(frozen=True)
class PaymentView:
    id: uuid.UUID
    short_id: str
    status: Status
    total_kobo: int
    funding_expires_at: datetime | None

    @classmethod
    def of(cls, payment: Payment) -> PaymentView:
        return cls(
            payment.id,
            payment.short_id,
            Status(payment.status),
            payment.total_kobo,
            payment.funding_expires_at,
        )


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    received_kobo: int  # booked in the NGN ledger: whole kobo of cNGN received (0 otherwise)
    refund_kobo: int  # hundredths of a unit of the deposit's asset to send back now

    @property
    def state(self) -> DepositState:
        if self.verdict is Verdict.DUST:
            return DepositState.QUARANTINED
        if self.verdict is Verdict.EXACT:
            return DepositState.FUNDED
        if self.verdict is Verdict.OVERPAID:
            return DepositState.FUNDED_OVERPAID
        return DepositState.REFUND_PENDING


def _describe(deposit: DepositRecord) -> str:
    asset = "XLM" if deposit.asset.is_native else deposit.asset.code
    how = "path payment" if deposit.is_path_payment else "payment"
    return f"{how} of {deposit.amount} {asset} (op {deposit.operation_id})"


def decide(deposit: DepositRecord, payment: PaymentView | None, cngn: StellarAsset) -> Decision:
    """The policy above, for one deposit and the payment its memo names (if any)."""
    refundable = stellar_floor_kobo(deposit.amount)
    is_cngn = deposit.asset == cngn
    received = refundable if is_cngn else 0
    what = _describe(deposit)

    def refund_all(verdict: Verdict, why: str) -> Decision:
        return Decision(verdict, f"{what}: {why}; refunded, never vended", received, refundable)

    if refundable == 0:
        return Decision(
            Verdict.DUST, f"{what}: less than 0.01 of the asset, nothing can be sent back", 0, 0
        )
    if payment is None:
        if deposit.memo_type == "none":
            return refund_all(Verdict.NO_MEMO, "no memo")
        return refund_all(
            Verdict.UNKNOWN_MEMO, f"memo {deposit.memo_type} {deposit.memo!r} names no payment"
        )
    if not is_cngn:
        return refund_all(Verdict.WRONG_ASSET, f"not {cngn.code} from {cngn.issuer}")
    if payment.status is Status.EXPIRED:
        return refund_all(Verdict.EXPIRED, f"payment {payment.short_id} had expired")
    if payment.status is not Status.AWAITING_FUNDS:
        return refund_all(
            Verdict.NOT_AWAITING, f"payment {payment.short_id} is already {payment.status}"
        )
    if payment.funding_expires_at is not None and deposit.created_at > payment.funding_expires_at:
        return refund_all(
            Verdict.LATE,
            f"arrived after the window closed at {payment.funding_expires_at.isoformat()}",
        )
    if deposit.amount_kobo is None:
        return refund_all(Verdict.INEXACT, "not a whole number of kobo")
    total = payment.total_kobo
    if deposit.amount_kobo == total:
        return Decision(Verdict.EXACT, f"funded: {what}, the exact total", received, 0)
    if deposit.amount_kobo > total:
        excess = deposit.amount_kobo - total
        return Decision(
            Verdict.OVERPAID,
            f"funded: {what}, {excess} kobo over the total; the excess is refunded",
            received,
            excess,
        )
    return refund_all(Verdict.UNDERPAID, f"{total - deposit.amount_kobo} kobo short of the total")


@dataclass(frozen=True)
class Applied:
    """What applying a decision wrote, and what is left for the batch to insert."""

    state: DepositState
    reason: str
    payment_id: uuid.UUID | None
    funded_payment: bool
    refund: dict[str, Any] | None  # a refund row, missing its ``deposit_id``


class Matcher:
    """Applies decisions inside the watcher's transaction (never commits)."""

    def __init__(self, account: str, cngn: StellarAsset) -> None:
        self.account = account
        self.cngn = cngn

    async def apply(
        self,
        session: AsyncSession,
        deposit: DepositRecord,
        payment: Payment | None,
        view: PaymentView | None,
    ) -> tuple[Applied, PaymentView | None]:
        """Applies the decision for ``deposit``, given the payment its memo names (locked) and
        that payment as it is now (earlier deposits of the batch may have moved it). Returns
        what was applied and the payment as it is afterwards."""
        decision = decide(deposit, view, self.cngn)
        memo = f"stellar op {deposit.operation_id} tx {deposit.transaction_hash}"
        if payment is not None and decision.verdict in FUNDING:
            await settlement.fund(
                session,
                payment,
                received_kobo=decision.received_kobo,
                reason=decision.reason,
                actor=ACTOR,
            )
            view = _moved(view, Status.PENDING)
        elif decision.received_kobo:
            await books.receive(
                session, payment.id if payment else None, decision.received_kobo, memo
            )
        if payment is not None and decision.verdict in REJECTING:
            await settlement.refund(
                session,
                payment,
                from_status=Status.AWAITING_FUNDS,
                reason=decision.reason,
                actor=ACTOR,
            )
            view = _moved(view, Status.REFUNDING)
        elif payment is not None and view is not None and decision.verdict not in FUNDING:
            await repo.note_event(
                session, payment.id, view.status.value, decision.reason, ACTOR, _evidence(deposit)
            )
        return (
            Applied(
                state=decision.state,
                reason=decision.reason,
                payment_id=payment.id if payment is not None else None,
                funded_payment=decision.verdict in FUNDING,
                refund=self._refund_row(deposit, payment, decision),
            ),
            view,
        )

    def _refund_row(
        self, deposit: DepositRecord, payment: Payment | None, decision: Decision
    ) -> dict[str, Any] | None:
        if decision.refund_kobo <= 0:
            return None
        excess = decision.verdict is Verdict.OVERPAID
        if payment is not None:
            memo_type, memo = "text", refund_memo(payment.short_id)
        else:
            memo_type, memo = "return", deposit.transaction_hash
        return {
            "cause": f"deposit:{deposit.operation_id}:{'excess' if excess else 'return'}",
            "kind": "excess" if excess else decision.verdict.value,
            "payment_id": payment.id if payment is not None else None,
            "closes_payment": payment is not None and decision.verdict in REJECTING,
            "source_account": self.account,
            "destination": deposit.from_account,
            "asset_code": deposit.asset.code,
            "asset_issuer": deposit.asset.issuer,
            "amount_kobo": decision.refund_kobo,
            "memo_type": memo_type,
            "memo": memo,
            "reason": decision.reason[:500],
            "status": RefundStatus.QUEUED.value,
        }

    @staticmethod
    def short_id_of(deposit: DepositRecord) -> str | None:
        return parse_payment_memo(deposit.memo_type, deposit.memo)


def _moved(view: PaymentView | None, status: Status) -> PaymentView | None:
    if view is None:
        return None
    return PaymentView(view.id, view.short_id, status, view.total_kobo, view.funding_expires_at)


def _evidence(deposit: DepositRecord) -> dict[str, Any]:
    return {
        "operation_id": deposit.operation_id,
        "tx_hash": deposit.transaction_hash,
        "from": deposit.from_account,
        "asset_code": deposit.asset.code,
        "asset_issuer": deposit.asset.issuer,
        "amount": deposit.amount,
        "memo_type": deposit.memo_type,
        "memo": deposit.memo,
    }
