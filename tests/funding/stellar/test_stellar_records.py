"""Classifying Horizon payment records: every shape the stream can carry, as the simulator
renders them, plus records no Horizon should send."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stellar_sdk import (
    Account,
    Asset,
    HashMemo,
    IdMemo,
    Keypair,
    ReturnHashMemo,
    TransactionBuilder,
)

from billpay.funding.stellar.records import (
    NATIVE,
    Ignored,
    Incoming,
    StellarAsset,
    Unparseable,
    classify_record,
)
from billpay.money import InexactAmountError, kobo_to_stellar, stellar_to_kobo
from billpay.sandbox.horizon import (
    CngnNetwork,
    HorizonState,
    TrustlineGrant,
    create_payer,
    signed_payment,
)
from billpay.sandbox.server import ThreadedServer

SYSTEM = Keypair.random().public_key
PAYER = Keypair.random().public_key
ISSUER = Keypair.random().public_key
TX_HASH = "ab" * 32

# providers.md §5.2, joined with its transaction (§5.3).
RECORD: dict[str, Any] = {
    "id": "122511124621283329",
    "paging_token": "122511124621283329",
    "transaction_successful": True,
    "source_account": PAYER,
    "type": "payment",
    "type_i": 1,
    "created_at": "2020-03-04T22:46:47Z",
    "transaction_hash": TX_HASH,
    "asset_type": "credit_alphanum4",
    "asset_code": "cNGN",
    "asset_issuer": ISSUER,
    "from": PAYER,
    "to": SYSTEM,
    "amount": "5030.0000000",
    "transaction": {
        "hash": TX_HASH,
        "memo_type": "text",
        "memo": "BILL-7K3P9Q",
        "successful": True,
    },
}


def record(**changes: Any) -> dict[str, Any]:
    return {**RECORD, **changes}


async def system_records(horizon: ThreadedServer, system: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=horizon.url) as http:
        page = await http.get(
            f"/accounts/{system}/payments",
            params={"join": "transactions", "include_failed": "true", "limit": "200"},
        )
    records: list[dict[str, Any]] = page.json()["_embedded"]["records"]
    return records


async def submit(horizon: ThreadedServer, envelope: str) -> None:
    async with httpx.AsyncClient(base_url=horizon.url) as http:
        await http.post("/transactions", data={"tx": envelope})


def sdk_account(state: HorizonState, account_id: str) -> Account:
    account = state.account(account_id)
    assert account is not None
    return Account(account_id, account.sequence)


def incoming(classification: object) -> Any:
    assert isinstance(classification, Incoming), classification
    return classification.deposit


async def test_a_deposit_with_a_text_memo(
    horizon: ThreadedServer, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "6000")
    system = cngn.system.public_key
    await submit(
        horizon,
        signed_payment(horizon_state, payer, system, cngn.asset, "5030", memo="BILL-7K3P9Q"),
    )
    [raw] = await system_records(horizon, system)

    deposit = incoming(classify_record(raw, system))

    assert deposit.operation_id == raw["id"] and deposit.paging_token == raw["paging_token"]
    assert deposit.transaction_hash == raw["transaction_hash"]
    assert (deposit.from_account, deposit.to_account) == (payer.public_key, system)
    assert deposit.asset.matches("cNGN", cngn.issuer.public_key)
    assert (deposit.amount, deposit.amount_kobo) == ("5030.0000000", 503000)
    assert (deposit.memo_type, deposit.memo) == ("text", "BILL-7K3P9Q")
    assert deposit.successful and not deposit.is_path_payment
    assert isinstance(deposit.created_at, datetime) and deposit.created_at.tzinfo is not None


async def test_outgoing_failed_and_create_account_records_are_ignored(
    horizon: ThreadedServer, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    system = cngn.system.public_key
    payer = create_payer(horizon_state, cngn, "1")
    stranger = create_payer(horizon_state, cngn, trustline=False)
    await submit(
        horizon, signed_payment(horizon_state, cngn.system, payer.public_key, cngn.asset, "1")
    )
    await submit(
        horizon, signed_payment(horizon_state, payer, system, cngn.asset, "3")
    )  # underfunded
    created = (
        TransactionBuilder(
            sdk_account(horizon_state, system), horizon_state.network_passphrase, 100
        )
        .append_create_account_op(Keypair.random().public_key, "2")
        .set_timeout(60)
        .build()
    )
    created.sign(cngn.system)
    await submit(horizon, created.to_xdr())
    await submit(
        horizon, signed_payment(horizon_state, cngn.system, stranger.public_key, cngn.asset, "1")
    )

    reasons = [classify_record(raw, system) for raw in await system_records(horizon, system)]

    assert all(isinstance(c, Ignored) for c in reasons), reasons
    assert [c.reason for c in reasons] == [  # type: ignore[union-attr]
        "outgoing payment",
        "the transaction failed",
        "create_account is not a payment",
        "the transaction failed",
    ]


async def test_path_payments_count_what_was_received(
    horizon: ThreadedServer, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    system = cngn.system.public_key
    payer = create_payer(horizon_state, cngn, "10")
    tx = (
        TransactionBuilder(
            sdk_account(horizon_state, payer.public_key), horizon_state.network_passphrase, 100
        )
        .append_path_payment_strict_receive_op(
            system, Asset.native(), "900", cngn.asset, "5030", []
        )
        .add_text_memo("BILL-PATH1")
        .set_timeout(60)
        .build()
    )
    tx.sign(payer)
    await submit(horizon, tx.to_xdr())
    [raw] = await system_records(horizon, system)

    deposit = incoming(classify_record(raw, system))

    assert raw["source_amount"] == "900.0000000" and raw["source_asset_type"] == "native"
    assert deposit.is_path_payment
    assert deposit.asset.matches("cNGN", cngn.issuer.public_key)
    assert deposit.amount_kobo == 503000


async def test_a_lookalike_asset_is_told_apart(
    horizon: ThreadedServer, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    system = cngn.system.public_key
    forger = Keypair.random()
    horizon_state.fund_account(forger.public_key)
    # The same code from another issuer, and the right issuer with the code in other case.
    fakes = [
        (forger, Asset("cNGN", forger.public_key)),
        (cngn.issuer, Asset("CNGN", cngn.issuer.public_key)),
    ]
    horizon_state.fund_account(system, trustlines=[TrustlineGrant(fake) for _, fake in fakes])
    for issuer, fake in fakes:
        envelope = signed_payment(horizon_state, issuer, system, fake, "5030", memo="BILL-7K3P9Q")
        await submit(horizon, envelope)

    deposits = [
        incoming(classify_record(raw, system)) for raw in await system_records(horizon, system)
    ]

    assert [d.asset for d in deposits] == [
        StellarAsset("cNGN", forger.public_key),
        StellarAsset("CNGN", cngn.issuer.public_key),
    ]
    assert not any(d.asset.matches("cNGN", cngn.issuer.public_key) for d in deposits)


@pytest.mark.parametrize(
    ("memo", "memo_type", "value"),
    [
        (IdMemo(9007199254740993), "id", "9007199254740993"),
        (HashMemo(b"\x07" * 32), "hash", base64.b64encode(b"\x07" * 32).decode()),
        (ReturnHashMemo(b"\x08" * 32), "return", base64.b64encode(b"\x08" * 32).decode()),
        (None, "none", None),
    ],
)
async def test_memo_types(
    horizon: ThreadedServer,
    horizon_state: HorizonState,
    cngn: CngnNetwork,
    memo: Any,
    memo_type: str,
    value: str | None,
) -> None:
    system = cngn.system.public_key
    payer = create_payer(horizon_state, cngn, "1")
    await submit(horizon, signed_payment(horizon_state, payer, system, cngn.asset, "1", memo=memo))
    [raw] = await system_records(horizon, system)
    deposit = incoming(classify_record(raw, system))
    assert (deposit.memo_type, deposit.memo) == (memo_type, value)


def test_memo_type_spellings_are_normalized() -> None:
    deposit = incoming(
        classify_record(
            record(transaction={**RECORD["transaction"], "memo_type": "MEMO_TEXT"}), SYSTEM
        )
    )
    assert deposit.memo_type == "text"
    empty = incoming(
        classify_record(record(transaction={**RECORD["transaction"], "memo": ""}), SYSTEM)
    )
    assert empty.memo == ""


def test_xlm_and_payments_between_others() -> None:
    native = record(asset_type="native", asset_code=None, asset_issuer=None, amount="1.2345678")
    deposit = incoming(classify_record({k: v for k, v in native.items() if v is not None}, SYSTEM))
    assert deposit.asset == NATIVE and deposit.asset.is_native
    assert deposit.amount_kobo is None  # 7 decimals of XLM are not whole kobo
    elsewhere = classify_record(record(to=Keypair.random().public_key), SYSTEM)
    assert elsewhere == Ignored(RECORD["paging_token"], "not addressed to the system account")


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.00000001"}, "amount"),
        ({"amount": "0.0000000"}, "amount"),
        ({"amount": "-5.0000000"}, "amount"),
        ({"amount": None}, "'amount'"),
        ({"asset_type": "credit_alphanum4", "asset_code": "TOOLONGCODE"}, "asset_code"),
        ({"asset_type": "liquidity_pool_shares"}, "asset_type"),
        ({"asset_issuer": "GNOTANACCOUNT"}, "asset_issuer"),
        ({"from": 42}, "'from'"),
        ({"transaction": None}, "join=transactions"),
        ({"transaction": {**RECORD["transaction"], "hash": "cd" * 32}}, "not the record's"),
        ({"transaction": {**RECORD["transaction"], "memo_type": "MEMO_SOMETHING"}}, "memo_type"),
        ({"transaction": {"hash": TX_HASH, "memo_type": "text"}}, "memo without its value"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": "2020-03-04T22:46:47"}, "time zone"),
        ({"transaction_successful": "yes"}, "transaction_successful"),
    ],
)
def test_malformed_records_are_unparseable(broken: dict[str, Any], reason: str) -> None:
    classification = classify_record(record(**broken), SYSTEM)
    assert isinstance(classification, Unparseable), classification
    assert classification.paging_token == RECORD["paging_token"]
    assert reason in classification.reason


@pytest.mark.parametrize("raw", [None, [], "payment", {"type": "payment"}, record(paging_token=7)])
def test_records_without_a_paging_token(raw: object) -> None:
    classification = classify_record(raw, SYSTEM)
    assert isinstance(classification, Unparseable) and classification.paging_token is None


# --- amounts: exact kobo or nothing ---------------------------------------------------------


def test_known_amounts() -> None:
    assert stellar_to_kobo("5030.0000000") == 503000
    with pytest.raises(InexactAmountError):
        stellar_to_kobo("0.0000001")
    assert incoming(classify_record(record(amount="0.0000001"), SYSTEM)).amount_kobo is None
    assert incoming(classify_record(record(amount="0.0100000"), SYSTEM)).amount_kobo == 1


@given(st.integers(min_value=1, max_value=9_223_372_036_854_775_807 // 100_000))
def test_whole_kobo_amounts_convert_exactly(kobo: int) -> None:
    amount = kobo_to_stellar(kobo)
    assert incoming(classify_record(record(amount=amount), SYSTEM)).amount_kobo == kobo


@given(st.integers(min_value=1, max_value=9_223_372_036_854_775_807))
def test_any_stroop_amount_is_exact_or_refused(stroops: int) -> None:
    amount = f"{stroops // 10**7}.{stroops % 10**7:07d}"
    deposit = incoming(classify_record(record(amount=amount), SYSTEM))
    if stroops % 100_000 == 0:
        assert deposit.amount_kobo == stroops // 100_000
    else:
        assert deposit.amount_kobo is None
        with pytest.raises(InexactAmountError):
            stellar_to_kobo(amount)
