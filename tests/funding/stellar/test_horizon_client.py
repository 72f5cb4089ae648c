"""``HorizonClient`` against the simulator over real HTTP: streams that survive drops, and
submissions classified as submitted / rejected / unknown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest
from stellar_sdk import Keypair, TransactionEnvelope

from billpay.funding.stellar.horizon import (
    AccountNotFoundError,
    HorizonClient,
    HorizonUnavailableError,
    LookupFailed,
    Rejected,
    Submitted,
    TransactionFound,
    TransactionNotFound,
    Unknown,
)
from billpay.sandbox.horizon import (
    CngnNetwork,
    FaultSettings,
    HorizonState,
    create_payer,
    signed_payment,
)
from billpay.sandbox.server import free_port
from flows import wait_until


async def collect(
    stream: AsyncIterator[dict[str, Any]], into: list[dict[str, Any]], count: int
) -> None:
    async for record in stream:
        into.append(record)
        if len(into) == count:
            return


def deposit(state: HorizonState, payer: Keypair, cngn: CngnNetwork, memo: str) -> str:
    """Applies a 1 cNGN deposit in process; returns its transaction hash."""
    envelope = signed_payment(state, payer, cngn.system.public_key, cngn.asset, "1", memo=memo)
    state.submit(envelope)
    return TransactionEnvelope.from_xdr(envelope, state.network_passphrase).hash_hex()


def tx_hash(state: HorizonState, envelope: str) -> str:
    return TransactionEnvelope.from_xdr(envelope, state.network_passphrase).hash_hex()


@pytest.fixture
def unreachable() -> HorizonClient:
    return HorizonClient(f"http://127.0.0.1:{free_port()}", reconnect_delay=0.05)


# --- streaming ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["abort", "close"])
async def test_stream_survives_drops_without_gap_or_duplicate(
    client: HorizonClient, horizon_state: HorizonState, cngn: CngnNetwork, mode: str
) -> None:
    payer = create_payer(horizon_state, cngn, "100")
    hashes = [deposit(horizon_state, payer, cngn, f"BILL-D{i}") for i in range(5)]
    horizon_state.faults.arm(
        FaultSettings(stream_drop_after_events=2, stream_drops=3, stream_drop_mode=mode)  # type: ignore[arg-type]
    )
    received: list[dict[str, Any]] = []
    async with aclosing(client.stream_payments(cngn.system.public_key, "0")) as stream:
        consumer = asyncio.create_task(collect(stream, received, 9))
        await wait_until(lambda: len(received) >= 5)
        hashes += [deposit(horizon_state, payer, cngn, f"BILL-D{i}") for i in range(5, 9)]
        await asyncio.wait_for(consumer, 10)

    assert [r["transaction_hash"] for r in received] == hashes
    assert all("transaction" in r for r in received)  # joined: the memo is on the record
    assert horizon_state.faults.settings.stream_drops == 0


async def test_now_is_pinned_so_a_drop_before_the_first_record_loses_nothing(
    client: HorizonClient, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "100")
    deposit(horizon_state, payer, cngn, "BILL-OLD")
    horizon_state.faults.arm(FaultSettings(stream_drop_after_events=0, stream_drops=1))
    received: list[dict[str, Any]] = []
    async with aclosing(client.stream_payments(cngn.system.public_key)) as stream:
        consumer = asyncio.create_task(collect(stream, received, 2))
        await wait_until(lambda: horizon_state.faults.settings.stream_drops == 0)
        new = [deposit(horizon_state, payer, cngn, f"BILL-NEW{i}") for i in range(2)]
        await asyncio.wait_for(consumer, 10)
    assert [r["transaction_hash"] for r in received] == new


async def test_stream_keeps_retrying_while_horizon_is_down(unreachable: HorizonClient) -> None:
    async with (
        unreachable,
        aclosing(unreachable.stream_payments(Keypair.random().public_key)) as stream,
    ):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(stream), 0.3)


# --- submission -------------------------------------------------------------------------------


async def test_submit_success_and_definite_rejections(
    client: HorizonClient, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "10")
    stranger = create_payer(horizon_state, cngn, trustline=False)

    paid = await client.submit(
        signed_payment(horizon_state, payer, cngn.system.public_key, cngn.asset, "1")
    )
    assert isinstance(paid, Submitted) and paid.response["successful"] is True

    no_trust = await client.submit(
        signed_payment(horizon_state, cngn.system, stranger.public_key, cngn.asset, "1")
    )
    assert no_trust == Rejected("tx_failed", ("op_no_trust",), no_trust.response)  # type: ignore[union-attr]

    sequence = horizon_state.account(payer.public_key).sequence  # type: ignore[union-attr]
    # The sequence number `paid` used; the same envelope again would answer `paid`'s result.
    stale = signed_payment(
        horizon_state, payer, cngn.system.public_key, cngn.asset, "2", sequence=sequence - 1
    )
    bad_seq = await client.submit(stale)
    assert isinstance(bad_seq, Rejected) and bad_seq.transaction_code == "tx_bad_seq"
    assert bad_seq.operation_codes == ()

    malformed = await client.submit("AAAA")
    assert isinstance(malformed, Rejected) and malformed.transaction_code == "transaction_malformed"


async def test_504_is_unknown_and_resubmitting_the_same_envelope_pays_once(
    client: HorizonClient, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn)
    refund = signed_payment(
        horizon_state, cngn.system, payer.public_key, cngn.asset, "5030", memo="REFUND-T1"
    )
    horizon_state.faults.arm(FaultSettings(submit_504_after_apply=1))

    first = await client.submit(refund)
    second = await client.submit(refund)

    assert isinstance(first, Unknown) and "504" in first.reason
    assert isinstance(second, Submitted) and second.response["hash"] == tx_hash(
        horizon_state, refund
    )
    assert len(horizon_state.payments(account_id=payer.public_key)) == 1


async def test_503_is_unknown(
    client: HorizonClient, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "1")
    envelope = signed_payment(horizon_state, payer, cngn.system.public_key, cngn.asset, "1")
    horizon_state.faults.arm(FaultSettings(submit_503_before_apply=1))
    assert isinstance(await client.submit(envelope), Unknown)
    assert (
        await client.lookup_transaction(tx_hash(horizon_state, envelope)) == TransactionNotFound()
    )


async def test_client_timeout_is_unknown_even_though_horizon_applied_it(
    horizon_state: HorizonState, horizon: Any, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn)
    refund = signed_payment(horizon_state, cngn.system, payer.public_key, cngn.asset, "7")
    horizon_state.faults.arm(FaultSettings(latency_ms=500))
    async with HorizonClient(horizon.url, submit_timeout=0.1) as impatient:
        outcome = await impatient.submit(refund)
    assert isinstance(outcome, Unknown)

    horizon_state.faults.arm(FaultSettings())
    await wait_until(lambda: horizon_state.transaction(tx_hash(horizon_state, refund)) is not None)
    async with HorizonClient(horizon.url) as patient:
        assert isinstance(await patient.submit(refund), Submitted)
    assert len(horizon_state.payments(account_id=payer.public_key)) == 1


async def test_unreachable_horizon(unreachable: HorizonClient) -> None:
    async with unreachable:
        outcome = await unreachable.submit("AAAA")
        assert isinstance(outcome, Unknown)
        lookup = await unreachable.lookup_transaction("ab" * 32)
        assert isinstance(lookup, LookupFailed)
        with pytest.raises(HorizonUnavailableError):
            await unreachable.load_account(Keypair.random().public_key)
        with pytest.raises(HorizonUnavailableError):
            await unreachable.base_fee()


# --- lookups ----------------------------------------------------------------------------------


async def test_lookups(
    client: HorizonClient, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "1")
    applied = deposit(horizon_state, payer, cngn, "BILL-L1")

    found = await client.lookup_transaction(applied)
    assert isinstance(found, TransactionFound) and found.successful
    assert found.transaction["memo"] == "BILL-L1"
    assert await client.transaction("cd" * 32) is None

    account = await client.load_account(payer.public_key)
    assert account.sequence == horizon_state.account(payer.public_key).sequence  # type: ignore[union-attr]
    with pytest.raises(AccountNotFoundError):
        await client.load_account(Keypair.random().public_key)
    assert await client.base_fee() == 100
