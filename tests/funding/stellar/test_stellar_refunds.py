"""Refund envelopes and the decision table for what to do with a stored one; then the rules
played against the simulator: a refund is paid exactly once whatever Horizon answers."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import httpx
import pytest
from stellar_sdk import Asset, Keypair, Payment, TextMemo, TransactionEnvelope

from billpay.funding.stellar.horizon import (
    HorizonClient,
    LookupFailed,
    Rejected,
    Submitted,
    TransactionFound,
    TransactionLookup,
    TransactionNotFound,
    Unknown,
)
from billpay.funding.stellar.memo import refund_memo
from billpay.funding.stellar.records import Incoming, classify_record
from billpay.funding.stellar.refunds import (
    EXPIRY_MARGIN_SECONDS,
    Done,
    Quarantine,
    Rebuild,
    RefundEnvelope,
    RefundStep,
    ResubmitSame,
    StoredEnvelopeState,
    build_refund_envelope,
    next_refund_step,
)
from billpay.sandbox.horizon import (
    CngnNetwork,
    FaultSettings,
    HorizonState,
    create_payer,
    signed_payment,
)
from billpay.sandbox.server import ThreadedServer

PASSPHRASE = "Test SDF Network ; September 2015"
SYSTEM = Keypair.random()
ISSUER = Keypair.random().public_key
MAX_TIME = 1_700_000_000


def test_the_envelope_is_a_signed_payment_with_time_bounds() -> None:
    destination = Keypair.random().public_key
    refund = build_refund_envelope(
        SYSTEM,
        41,
        destination,
        Asset("cNGN", ISSUER),
        503000,
        refund_memo("7K3P9Q"),
        30,
        PASSPHRASE,
        100,
        now=MAX_TIME - 30,
    )
    envelope = TransactionEnvelope.from_xdr(refund.envelope_xdr, PASSPHRASE)
    tx = envelope.transaction

    assert refund.tx_hash == envelope.hash_hex() and refund.max_time == MAX_TIME
    assert (tx.source.account_id, tx.sequence, tx.fee) == (SYSTEM.public_key, 42, 100)
    assert tx.memo == TextMemo("REFUND-7K3P9Q")
    assert (tx.preconditions.time_bounds.min_time, tx.preconditions.time_bounds.max_time) == (
        0,
        MAX_TIME,
    )
    [payment] = tx.operations
    assert isinstance(payment, Payment)
    assert (payment.destination.account_id, payment.asset, payment.amount) == (
        destination,
        Asset("cNGN", ISSUER),
        "5030",
    )
    SYSTEM.verify(envelope.hash(), envelope.signatures[0].signature)


def test_nothing_is_not_refunded() -> None:
    with pytest.raises(ValueError, match="positive"):
        build_refund_envelope(SYSTEM, 1, ISSUER, Asset.native(), 0, "REFUND-X", 30, PASSPHRASE, 100)


# --- the decision table -----------------------------------------------------------------------

SUCCESS = TransactionFound({"successful": True})
FAILED = TransactionFound({"successful": False})
NOT_FOUND = TransactionNotFound()
UNREACHABLE = LookupFailed("connection refused")
BEFORE = MAX_TIME - 10
JUST_AFTER = MAX_TIME + 1
LONG_AFTER = MAX_TIME + EXPIRY_MARGIN_SECONDS + 1


def rejected(code: str, *operations: str) -> Rejected:
    return Rejected(code, operations, {})


@pytest.mark.parametrize(
    ("last", "lookup", "now", "step"),
    [
        # Success is final, however it is learnt.
        (Submitted(7, {}), NOT_FOUND, LONG_AFTER, Done()),
        (Unknown("HTTP 504: Timeout"), SUCCESS, BEFORE, Done()),
        (None, SUCCESS, LONG_AFTER, Done()),
        # Unknown outcomes: the same envelope again, until it is provably dead.
        (Unknown("HTTP 504: Timeout"), NOT_FOUND, BEFORE, ResubmitSame()),
        (Unknown("timeout"), NOT_FOUND, JUST_AFTER, ResubmitSame()),
        (Unknown("HTTP 503"), UNREACHABLE, LONG_AFTER, ResubmitSame()),
        (None, NOT_FOUND, BEFORE, ResubmitSame()),
        (
            Unknown("timeout"),
            NOT_FOUND,
            LONG_AFTER,
            Rebuild(f"the envelope expired at {MAX_TIME} and its hash is unknown"),
        ),
        (
            None,
            NOT_FOUND,
            LONG_AFTER,
            Rebuild(f"the envelope expired at {MAX_TIME} and its hash is unknown"),
        ),
        # Rejections of this envelope only: rebuild once it is dead.
        (rejected("tx_bad_seq"), NOT_FOUND, BEFORE, ResubmitSame()),
        (
            rejected("tx_too_late"),
            NOT_FOUND,
            LONG_AFTER,
            Rebuild(f"the envelope expired at {MAX_TIME} and its hash is unknown"),
        ),
        (rejected("tx_bad_seq"), UNREACHABLE, LONG_AFTER, ResubmitSame()),
        (rejected("tx_bad_seq"), SUCCESS, LONG_AFTER, Done()),
        # Failures a new envelope would repeat: a human looks.
        (
            rejected("tx_failed", "op_no_trust"),
            NOT_FOUND,
            LONG_AFTER,
            Quarantine("op_no_trust: the destination has no trustline for the asset"),
        ),
        (
            rejected("tx_failed", "op_no_destination"),
            FAILED,
            BEFORE,
            Quarantine("op_no_destination: the destination account does not exist"),
        ),
        (None, FAILED, BEFORE, Quarantine("the refund transaction failed on the ledger")),
        (rejected("tx_bad_auth"), NOT_FOUND, LONG_AFTER, Quarantine("tx_bad_auth")),
        (
            rejected("tx_insufficient_balance"),
            NOT_FOUND,
            BEFORE,
            Quarantine("tx_insufficient_balance"),
        ),
        (rejected("transaction_malformed"), NOT_FOUND, BEFORE, Quarantine("transaction_malformed")),
        (rejected("tx_something_new"), NOT_FOUND, LONG_AFTER, Quarantine("tx_something_new")),
    ],
)
def test_next_refund_step(last: Any, lookup: TransactionLookup, now: int, step: RefundStep) -> None:
    assert next_refund_step(StoredEnvelopeState(MAX_TIME, last), lookup, now) == step


# --- against the simulator ---------------------------------------------------------------------


async def new_envelope(
    client: HorizonClient,
    state: HorizonState,
    cngn: CngnNetwork,
    to: str,
    kobo: int,
    *,
    now: int | None = None,
) -> RefundEnvelope:
    account = await client.load_account(cngn.system.public_key)
    return build_refund_envelope(
        cngn.system,
        account.sequence,
        to,
        cngn.asset,
        kobo,
        refund_memo("R1"),
        30,
        state.network_passphrase,
        await client.base_fee(),
        now=state.now() if now is None else now,
    )


async def settle(
    client: HorizonClient, state: HorizonState, cngn: CngnNetwork, to: str, envelope: RefundEnvelope
) -> tuple[RefundStep, int]:
    """The refund loop the service runs (envelope stored before every submit), with the number
    of envelopes it had to build."""
    built = 1
    while True:
        stored = StoredEnvelopeState(envelope.max_time, await client.submit(envelope.envelope_xdr))
        step = next_refund_step(
            stored, await client.lookup_transaction(envelope.tx_hash), state.now()
        )
        if isinstance(step, Rebuild):
            envelope, built = await new_envelope(client, state, cngn, to, 503000), built + 1
        elif not isinstance(step, ResubmitSame):
            return step, built


async def refunds_seen(horizon: ThreadedServer, account: str) -> list[str]:
    async with httpx.AsyncClient(base_url=horizon.url) as http:
        records = (await http.get("/_sandbox/payments", params={"account": account})).json()[
            "records"
        ]
    return [r["transaction"]["memo"] for r in records if r["from"] != account]


async def test_a_deposit_is_refunded_once_through_timeouts(
    client: HorizonClient, horizon: ThreadedServer, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "5030")
    horizon_state.submit(
        signed_payment(
            horizon_state, payer, cngn.system.public_key, cngn.asset, "5030", memo="BILL-LATE"
        )
    )
    async with aclosing(client.stream_payments(cngn.system.public_key, "0")) as stream:
        classification = classify_record(await anext(stream), cngn.system.public_key)
    assert isinstance(classification, Incoming)
    deposit = classification.deposit
    horizon_state.faults.arm(FaultSettings(submit_503_before_apply=1, submit_504_after_apply=1))

    account = await client.load_account(cngn.system.public_key)
    envelope = build_refund_envelope(
        cngn.system,
        account.sequence,
        deposit.from_account,
        deposit.asset.to_sdk_asset(),
        deposit.amount_kobo,  # type: ignore[arg-type]
        refund_memo("LATE"),
        30,
        horizon_state.network_passphrase,
        await client.base_fee(),
    )
    step, built = await settle(client, horizon_state, cngn, payer.public_key, envelope)

    assert (step, built) == (Done(), 1)
    assert await refunds_seen(horizon, payer.public_key) == ["REFUND-LATE"]


async def test_no_trustline_goes_to_a_human(
    client: HorizonClient, horizon: ThreadedServer, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    stranger = create_payer(horizon_state, cngn, trustline=False)
    envelope = await new_envelope(client, horizon_state, cngn, stranger.public_key, 503000)
    step, _ = await settle(client, horizon_state, cngn, stranger.public_key, envelope)
    assert step == Quarantine("op_no_trust: the destination has no trustline for the asset")
    assert await refunds_seen(horizon, stranger.public_key) == []


async def test_an_expired_envelope_is_rebuilt_only_once_provably_dead(
    client: HorizonClient, horizon: ThreadedServer, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn)
    stale = await new_envelope(
        client,
        horizon_state,
        cngn,
        payer.public_key,
        503000,
        now=horizon_state.now() - 30 - EXPIRY_MARGIN_SECONDS - 5,
    )
    step, built = await settle(client, horizon_state, cngn, payer.public_key, stale)
    assert (step, built) == (Done(), 2)
    assert await refunds_seen(horizon, payer.public_key) == ["REFUND-R1"]
