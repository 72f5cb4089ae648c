"""The Stellar refunder: money goes back over Stellar exactly once per cause (DESIGN §1.2-1.3).

A periodic job of the worker (``run_refunds``):

1. every Stellar payment in ``refunding`` without a live closing refund gets one
   (``payment:<id>:vend_failed``): everything its funding deposit brought in, less an excess
   already being returned, to the sender in the asset received. A payment back in
   ``refunding`` after an operator's review reopens its quarantined refund instead;
2. a ``queued`` refund is built and signed (``build_refund_envelope``) and its envelope, hash
   and ``max_time`` are committed, then submitted;
3. a ``submitting`` refund is looked up by hash first; ``next_refund_step`` says: done,
   resubmit the *same* envelope (timeouts, 503/504: it applies at most once), rebuild (only
   once the old envelope has expired and its hash is unknown), or quarantine (a failure a new
   envelope would repeat: ``op_no_trust``, ``op_no_destination``…);
4. success ends it in one transaction: the refund row, the deposit's state, the ledger
   (``funding:stellar:held → external:stellar``) and, for a closing refund, the payment
   (``refunding → refunded``). Quarantine moves the payment to ``needs_review`` with the reason.

One signer per system account (an advisory lock), working through refunds in order, and no
new envelope while an earlier one is still in doubt: envelopes built on the same sequence
number would knock each other out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from stellar_sdk import Asset, Memo, ReturnHashMemo

from billpay.funding.base import FundingContext
from billpay.funding.stellar import books
from billpay.funding.stellar import repository as repo
from billpay.funding.stellar.config import StellarConfig
from billpay.funding.stellar.horizon import (
    HorizonClient,
    Rejected,
    SubmitResult,
    Submitted,
    TransactionFound,
    Unknown,
)
from billpay.funding.stellar.locks import advisory_lock
from billpay.funding.stellar.memo import refund_memo
from billpay.funding.stellar.records import StellarAsset
from billpay.funding.stellar.refunds import (
    Done,
    Quarantine,
    Rebuild,
    ResubmitSame,
    StoredEnvelopeState,
    build_refund_envelope,
    next_refund_step,
)
from billpay.funding.stellar.states import OPEN_REFUNDS, DepositState, RefundStatus
from billpay.models import Payment, StellarRefund
from billpay.payments import repository as payments_repo
from billpay.payments import settlement
from billpay.payments.lifecycle import StaleTransition
from billpay.payments.status import Status

log = structlog.get_logger(__name__)

ACTOR = "stellar-refunder"
LOCK_PREFIX = "billpay:stellar-refunder:"
ENVELOPE_TIMEOUT_SECONDS = 60  # an envelope's life: past it (and a margin) it can be replaced
RESUBMITS = 3  # the same envelope, at once, after a timeout/503/504
RESUBMIT_PAUSE_SECONDS = 0.2
Clock = Callable[[], float]


async def run_refunds(
    context: FundingContext, *, limit: int | None = None, clock: Clock = time.time
) -> int:
    """Periodic job: queue, send and settle the refunds that are due. Returns how many refunds
    were looked at (0 when Stellar is not configured or another process is signing)."""
    config = StellarConfig.from_settings(context.settings)
    if config is None:
        return 0
    batch = limit or context.settings.batch_size
    async with context.unit_of_work() as session:
        await _queue_payment_refunds(session, config, batch)
    async with context.unit_of_work() as session:
        due = await repo.open_refunds(session, config.account, batch)
    if not due:
        return 0
    async with advisory_lock(context.database_url, LOCK_PREFIX + config.account) as lock:
        if lock is None:
            return 0
        async with HorizonClient(config.horizon_url) as horizon:
            refunder = _Refunder(context, config, horizon, clock)
            for refund_id in due:
                try:
                    await refunder.advance(refund_id)
                except StaleTransition:
                    log.info("stellar_refund_raced", refund_id=refund_id)
                except Exception:
                    # Left as it is; looked at again on the next beat. Never forgotten.
                    log.exception("stellar_refund_step_failed", refund_id=refund_id)
                    refunder.in_doubt = True
    return len(due)


async def _queue_payment_refunds(session: AsyncSession, config: StellarConfig, limit: int) -> None:
    for found in await repo.refunding_without_refund(session, limit):
        if found.reopen_refund_id is not None:
            await _reopen(session, found.reopen_refund_id)
            continue
        payment = await payments_repo.get(session, found.payment_id)
        assert payment is not None
        await _queue_vend_failed(session, config, payment)


async def _queue_vend_failed(
    session: AsyncSession, config: StellarConfig, payment: Payment
) -> None:
    deposit = await repo.funding_deposit(session, payment.id)
    if deposit is None or deposit.amount_kobo is None or deposit.from_account is None:
        await settlement.send_to_review(
            session,
            payment,
            from_status=Status.REFUNDING,
            reason="no Stellar deposit funded this payment: nothing to send back automatically",
            actor=ACTOR,
        )
        return
    amount = deposit.amount_kobo - await repo.excess_refunded_kobo(session, deposit.id)
    why = payment.failure_reason or "delivery failed"
    await repo.insert_refunds(
        session,
        [
            {
                "cause": f"payment:{payment.id}:vend_failed",
                "kind": "vend_failed",
                "deposit_id": deposit.id,
                "payment_id": payment.id,
                "closes_payment": True,
                "source_account": config.account,
                "destination": deposit.from_account,
                "asset_code": deposit.asset_code,
                "asset_issuer": deposit.asset_issuer,
                "amount_kobo": amount,
                "memo_type": "text",
                "memo": refund_memo(payment.short_id),
                "reason": f"{why}: everything the payer sent goes back"[:500],
                "status": RefundStatus.QUEUED.value,
            }
        ],
    )


async def _reopen(session: AsyncSession, refund_id: int) -> None:
    """An operator sent the payment back to ``refunding``: try its quarantined refund again
    with a new envelope (the old one failed definitively, so it can never apply)."""
    row = await repo.refund(session, refund_id)
    assert row is not None
    superseded = [*row.superseded_hashes, *([row.tx_hash] if row.tx_hash else [])]
    await repo.update_refund(
        session,
        row.id,
        {
            "status": RefundStatus.QUEUED.value,
            "envelope_xdr": None,
            "tx_hash": None,
            "max_time": None,
            "last_result": None,
            "last_error": None,
            "superseded_hashes": superseded,
        },
        status_was=RefundStatus.QUARANTINED,
        tx_hash_was=row.tx_hash,
    )
    log.info("stellar_refund_reopened", refund_id=row.id, payment_id=str(row.payment_id))


class _Refunder:
    def __init__(
        self, context: FundingContext, config: StellarConfig, horizon: HorizonClient, clock: Clock
    ) -> None:
        self.context = context
        self.config = config
        self.horizon = horizon
        self.clock = clock
        # An envelope of this account may still apply: no new one until it is resolved.
        self.in_doubt = False

    async def advance(self, refund_id: int) -> None:
        async with self.context.unit_of_work() as session:
            row = await repo.refund(session, refund_id)
        if row is None or row.status not in OPEN_REFUNDS:
            return
        if row.envelope_xdr is None:
            if self.in_doubt:
                return
            await self._send_new(row, "first envelope")
            return
        assert row.tx_hash is not None and row.max_time is not None
        lookup = await self.horizon.lookup_transaction(row.tx_hash)
        stored = StoredEnvelopeState(row.max_time, _last_submission(row.last_result))
        step = next_refund_step(stored, lookup, self.clock())
        if isinstance(step, Done):
            found = lookup.transaction if isinstance(lookup, TransactionFound) else {}
            await self._succeeded(row, found)
        elif isinstance(step, ResubmitSame):
            await self._submit(row)
        elif isinstance(step, Rebuild):
            if self.in_doubt:
                return
            await self._send_new(row, step.reason)
        elif isinstance(step, Quarantine):
            await self._quarantine(row, step.reason)

    async def _send_new(self, row: StellarRefund, why: str) -> None:
        """Build, sign and store a new envelope (committed first), then submit it."""
        account = await self.horizon.load_account(self.config.account)
        base_fee = await self.horizon.base_fee()
        envelope = build_refund_envelope(
            self.config.system_keypair,
            account.sequence,
            row.destination,
            _sdk_asset(row),
            row.amount_kobo,
            _memo(row),
            ENVELOPE_TIMEOUT_SECONDS,
            self.config.network_passphrase,
            base_fee,
            now=int(self.clock()),
        )
        superseded = [*row.superseded_hashes, *([row.tx_hash] if row.tx_hash else [])]
        async with self.context.unit_of_work() as session:
            stored = await repo.update_refund(
                session,
                row.id,
                {
                    "status": RefundStatus.SUBMITTING.value,
                    "envelope_xdr": envelope.envelope_xdr,
                    "tx_hash": envelope.tx_hash,
                    "max_time": envelope.max_time,
                    "last_result": None,
                    "superseded_hashes": superseded,
                },
                status_was=RefundStatus(row.status),
                tx_hash_was=row.tx_hash,
            )
            fresh = await repo.refund(session, row.id) if stored else None
        if fresh is None:
            return  # someone else moved it meanwhile
        log.info("stellar_refund_signed", refund_id=row.id, tx_hash=envelope.tx_hash, why=why)
        await self._submit(fresh)

    async def _submit(self, row: StellarRefund) -> None:
        """Submit the stored envelope; resubmit the very same one on a timeout/503/504."""
        assert row.envelope_xdr is not None and row.tx_hash is not None
        assert row.max_time is not None
        for attempt in range(RESUBMITS):
            result = await self.horizon.submit(row.envelope_xdr)
            if isinstance(result, Submitted):
                await self._succeeded(row, result.response, attempts=1)
                return
            await self._record(row, result)
            if isinstance(result, Rejected):
                await self._after_rejection(row, result)
                return
            log.warning("stellar_refund_unknown", refund_id=row.id, reason=result.reason)
            await asyncio.sleep(RESUBMIT_PAUSE_SECONDS * (attempt + 1))
        self.in_doubt = True

    async def _after_rejection(self, row: StellarRefund, rejected: Rejected) -> None:
        assert row.tx_hash is not None and row.max_time is not None
        lookup = await self.horizon.lookup_transaction(row.tx_hash)
        step = next_refund_step(StoredEnvelopeState(row.max_time, rejected), lookup, self.clock())
        if isinstance(step, Quarantine):
            await self._quarantine(row, step.reason)
        elif isinstance(step, Done) and isinstance(lookup, TransactionFound):
            await self._succeeded(row, lookup.transaction)
        else:
            self.in_doubt = True  # rebuildable: once this envelope is provably dead

    async def _record(self, row: StellarRefund, result: SubmitResult) -> None:
        async with self.context.unit_of_work() as session:
            await repo.update_refund(
                session,
                row.id,
                {"attempts": StellarRefund.attempts + 1, "last_result": _result_json(result)},
                status_was=RefundStatus.SUBMITTING,
                tx_hash_was=row.tx_hash,
            )

    async def _succeeded(
        self, row: StellarRefund, transaction: dict[str, Any], *, attempts: int = 0
    ) -> None:
        fee = transaction.get("fee_charged")
        ledger = transaction.get("ledger")
        async with self.context.unit_of_work() as session:
            finished = await repo.update_refund(
                session,
                row.id,
                {
                    "status": RefundStatus.SUCCEEDED.value,
                    "attempts": StellarRefund.attempts + attempts,
                    "last_result": {"kind": "applied", "ledger": ledger},
                    "fee_charged_stroops": int(fee) if fee is not None else None,
                    "applied_ledger": int(ledger) if ledger is not None else None,
                    "completed_at": func.now(),
                    "last_error": None,
                },
                status_was=RefundStatus.SUBMITTING,
                tx_hash_was=row.tx_hash,
            )
            if not finished:
                return
            await self._settle(session, row)
        log.info("stellar_refund_applied", refund_id=row.id, tx_hash=row.tx_hash)

    async def _settle(self, session: AsyncSession, row: StellarRefund) -> None:
        """The money left: the books, the deposit and (for a closing refund) the payment."""
        is_cngn = StellarAsset(row.asset_code, row.asset_issuer) == self.config.asset
        asset = row.asset_code or "XLM"
        what = f"refund of {row.amount_kobo} hundredths of {asset} in tx {row.tx_hash}"
        payment = await payments_repo.get(session, row.payment_id) if row.payment_id else None
        closing = (
            is_cngn
            and row.closes_payment
            and payment is not None
            and payment.status == Status.REFUNDING.value
        )
        if closing and payment is not None:
            await settlement.refund_completed(
                session,
                payment,
                amount_kobo=row.amount_kobo,
                reason=f"{what} applied on the Stellar network",
                actor=ACTOR,
            )
        else:
            if is_cngn:
                kind = "excess_refund" if row.kind == "excess" else "refund"
                await books.give_back(session, row.payment_id, row.amount_kobo, kind, what)
            if payment is not None:
                await repo.note_event(session, payment.id, payment.status, f"{what} applied", ACTOR)
        if row.deposit_id is not None:
            if row.kind == "excess":
                await repo.move_deposit(
                    session,
                    row.deposit_id,
                    DepositState.EXCESS_REFUNDED,
                    f"funded; the excess went back: {what}",
                    state_was=[DepositState.FUNDED_OVERPAID],
                )
            else:
                await repo.move_deposit(
                    session, row.deposit_id, DepositState.REFUNDED, f"sent back: {what}"
                )

    async def _quarantine(self, row: StellarRefund, reason: str) -> None:
        """A failure a new envelope would repeat: the money stays held, a human decides."""
        why = f"refund {row.id} cannot be completed: {reason}"
        async with self.context.unit_of_work() as session:
            stopped = await repo.update_refund(
                session,
                row.id,
                {"status": RefundStatus.QUARANTINED.value, "last_error": why[:500]},
                status_was=RefundStatus(row.status),
                tx_hash_was=row.tx_hash,
            )
            if not stopped:
                return
            if row.deposit_id is not None:
                await repo.move_deposit(
                    session,
                    row.deposit_id,
                    DepositState.QUARANTINED,
                    f"{why}; the money is still held, an operator decides",
                )
            payment = await payments_repo.get(session, row.payment_id) if row.payment_id else None
            evidence = {"refund_id": row.id, "tx_hash": row.tx_hash, "destination": row.destination}
            if (
                payment is not None
                and row.closes_payment
                and payment.status == Status.REFUNDING.value
            ):
                await settlement.send_to_review(
                    session,
                    payment,
                    from_status=Status.REFUNDING,
                    reason=why[:500],
                    actor=ACTOR,
                    data=evidence,
                )
            else:
                # Not a payment's own refund (an excess, a deposit naming no payment or one
                # that could not take it): no review will hold this money, so it moves to
                # suspense, where an operator sees it. A closing refund's stays with its payment.
                is_cngn = StellarAsset(row.asset_code, row.asset_issuer) == self.config.asset
                if is_cngn and not row.closes_payment:
                    await books.quarantine(session, row.payment_id, row.amount_kobo, why)
                if payment is not None:
                    await repo.note_event(session, payment.id, payment.status, why, ACTOR, evidence)
        log.warning("stellar_refund_quarantined", refund_id=row.id, reason=reason)


def _sdk_asset(row: StellarRefund) -> Asset:
    return StellarAsset(row.asset_code, row.asset_issuer).to_sdk_asset()


def _memo(row: StellarRefund) -> str | Memo:
    if row.memo_type == "return":
        return ReturnHashMemo(bytes.fromhex(row.memo))
    return row.memo


def _result_json(result: SubmitResult) -> dict[str, Any]:
    if isinstance(result, Submitted):
        return {"kind": "submitted", "ledger": result.ledger}
    if isinstance(result, Rejected):
        return {
            "kind": "rejected",
            "transaction_code": result.transaction_code,
            "operation_codes": list(result.operation_codes),
            "response": result.response,
        }
    return {"kind": "unknown", "reason": result.reason}


def _last_submission(stored: dict[str, Any] | None) -> SubmitResult | None:
    """The stored outcome of the latest submission, back in ``horizon``'s vocabulary."""
    if not stored:
        return None
    kind = stored.get("kind")
    if kind == "rejected":
        return Rejected(
            str(stored.get("transaction_code")),
            tuple(stored.get("operation_codes") or ()),
            stored.get("response") or {},
        )
    if kind == "unknown":
        return Unknown(str(stored.get("reason")))
    return None
