"""The Horizon simulator, driven by stellar-sdk over real HTTP (providers.md §5)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from stellar_sdk import (
    Account,
    Asset,
    HashMemo,
    IdMemo,
    Keypair,
    NoneMemo,
    ReturnHashMemo,
    TransactionBuilder,
    TransactionEnvelope,
)
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.client.aiohttp_client import AiohttpClient
from stellar_sdk.exceptions import BadRequestError, BadResponseError, NotFoundError
from stellar_sdk.server_async import ServerAsync

from billpay.sandbox.horizon import (
    CngnNetwork,
    FaultSettings,
    HorizonState,
    bootstrap_cngn,
    create_app,
    create_payer,
    signed_payment,
)
from billpay.sandbox.server import ThreadedServer, serve

PASSPHRASE = "Test SDF Network ; September 2015"


@pytest.fixture(scope="module")
def horizon_state() -> HorizonState:
    return HorizonState()


@pytest.fixture(scope="module")
def horizon(horizon_state: HorizonState) -> Iterator[ThreadedServer]:
    with serve(create_app(horizon_state, sse_retry_ms=20)) as server:
        yield server
        horizon_state.end_streams()


@pytest.fixture
def cngn(horizon_state: HorizonState) -> CngnNetwork:
    horizon_state.reset()
    return bootstrap_cngn(horizon_state, system_balance="100000")


@pytest.fixture
async def server(horizon: ThreadedServer) -> AsyncIterator[ServerAsync]:
    async with ServerAsync(horizon.url, AiohttpClient()) as sdk_server:
        yield sdk_server


@pytest.fixture
async def http(horizon: ThreadedServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=horizon.url, timeout=10) as client:
        yield client


def cngn_balance(state: HorizonState, account_id: str, asset: Asset) -> int:
    account = state.account(account_id)
    assert account is not None
    return account.trustlines[asset].balance


async def deposit(
    server: ServerAsync,
    state: HorizonState,
    payer: Keypair,
    cngn: CngnNetwork,
    amount: str,
    memo: str,
) -> dict[str, Any]:
    envelope = signed_payment(state, payer, cngn.system.public_key, cngn.asset, amount, memo=memo)
    response: dict[str, Any] = await server.submit_transaction(envelope)
    return response


async def rejection(server: ServerAsync, envelope: str) -> BadRequestError:
    with pytest.raises(BadRequestError) as raised:
        await server.submit_transaction(envelope)
    return raised.value


# --- accounts, fees, submission ---------------------------------------------------------------


async def test_sdk_loads_accounts_and_base_fee(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    root = await server.root().call()
    assert root["network_passphrase"] == PASSPHRASE

    account = await server.load_account(cngn.system.public_key)
    assert account.sequence == horizon_state.account(cngn.system.public_key).sequence  # type: ignore[union-attr]
    balances = account.raw_data["balances"]
    assert balances[0] == {
        "balance": "100000.0000000",
        "limit": "922337203685.4775807",
        "buying_liabilities": "0.0000000",
        "selling_liabilities": "0.0000000",
        "last_modified_ledger": balances[0]["last_modified_ledger"],
        "is_authorized": True,
        "is_authorized_to_maintain_liabilities": True,
        "is_clawback_enabled": False,
        "asset_type": "credit_alphanum4",
        "asset_code": "cNGN",
        "asset_issuer": cngn.issuer.public_key,
    }
    assert balances[-1]["asset_type"] == "native"
    assert await server.fetch_base_fee() == 100
    assert (await server.fee_stats().call())["last_ledger_base_fee"] == "100"
    with pytest.raises(NotFoundError):
        await server.load_account(Keypair.random().public_key)


async def test_payment_applies_once_and_is_on_record(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "6000")
    sequence = horizon_state.account(payer.public_key).sequence  # type: ignore[union-attr]

    response = await deposit(server, horizon_state, payer, cngn, "5030", "BILL-7K3P9Q")

    assert response["successful"] is True
    assert response["ledger"] >= 2
    assert response["memo_type"] == "text" and response["memo"] == "BILL-7K3P9Q"
    result = stellar_xdr.TransactionResult.from_xdr(response["result_xdr"])
    assert result.result.code == stellar_xdr.TransactionResultCode.txSUCCESS
    assert cngn_balance(horizon_state, payer.public_key, cngn.asset) == 970 * 10**7
    assert cngn_balance(horizon_state, cngn.system.public_key, cngn.asset) == 105030 * 10**7
    payer_after = horizon_state.account(payer.public_key)
    assert payer_after is not None and payer_after.sequence == sequence + 1

    fetched = await server.transactions().transaction(response["hash"]).call()
    assert fetched["successful"] is True and fetched["memo"] == "BILL-7K3P9Q"
    assert fetched["created_at"].endswith("Z")


async def test_account_payments_list_incoming_and_outgoing_joined(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "6000")
    paid = await deposit(server, horizon_state, payer, cngn, "5030", "BILL-A1")
    refund = signed_payment(
        horizon_state, cngn.system, payer.public_key, cngn.asset, "30", memo="REFUND-A1"
    )
    refunded = await server.submit_transaction(refund)

    for account in (cngn.system.public_key, payer.public_key):
        page = await server.payments().for_account(account).join("transactions").call()
        records = page["_embedded"]["records"]
        assert [r["transaction_hash"] for r in records] == [paid["hash"], refunded["hash"]]

    incoming, outgoing = (
        await server.payments().for_account(cngn.system.public_key).join("transactions").call()
    )["_embedded"]["records"]
    assert incoming == incoming | {
        "id": incoming["paging_token"],
        "transaction_successful": True,
        "source_account": payer.public_key,
        "type": "payment",
        "type_i": 1,
        "asset_type": "credit_alphanum4",
        "asset_code": "cNGN",
        "asset_issuer": cngn.issuer.public_key,
        "from": payer.public_key,
        "to": cngn.system.public_key,
        "amount": "5030.0000000",
    }
    assert incoming["transaction"]["memo"] == "BILL-A1"
    assert incoming["transaction"]["hash"] == incoming["transaction_hash"]
    assert outgoing["from"] == cngn.system.public_key and outgoing["amount"] == "30.0000000"
    assert set(incoming["_links"]) >= {"self", "transaction"}


async def test_pages_follow_next_links_and_cursors(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "100")
    hashes = [
        (await deposit(server, horizon_state, payer, cngn, "1", f"BILL-P{i}"))["hash"]
        for i in range(5)
    ]
    builder = server.payments().for_account(cngn.system.public_key).limit(2)
    seen = [r["transaction_hash"] for r in (await builder.call())["_embedded"]["records"]]
    while True:
        records = (await builder.next())["_embedded"]["records"]
        if not records:
            break
        seen += [r["transaction_hash"] for r in records]
    assert seen == hashes

    newest_first = await server.payments().for_account(payer.public_key).order(desc=True).call()
    tokens = [r["paging_token"] for r in newest_first["_embedded"]["records"]]
    assert [r["transaction_hash"] for r in newest_first["_embedded"]["records"]] == hashes[::-1]
    after_second = await server.payments().for_account(payer.public_key).cursor(tokens[3]).call()
    assert [r["transaction_hash"] for r in after_second["_embedded"]["records"]] == hashes[2:]
    now = await server.payments().for_account(payer.public_key).cursor("now").call()
    assert now["_embedded"]["records"] == []


async def test_bad_query_parameters_are_horizon_problems(
    http: httpx.AsyncClient, cngn: CngnNetwork
) -> None:
    payments = f"/accounts/{cngn.system.public_key}/payments"
    for params, field in (
        ({"limit": "201"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"order": "up"}, "order"),
        ({"include_failed": "yes"}, "include_failed"),
    ):
        response = await http.get(payments, params=params)
        assert response.status_code == 400
        assert response.json()["extras"]["invalid_field"] == field
    missing = await http.get(f"/transactions/{'ab' * 32}")
    assert missing.status_code == 404
    assert missing.json()["type"] == "https://stellar.org/horizon-errors/not_found"
    assert (await http.get("/accounts/not-an-account")).status_code == 400


# --- rejections ---------------------------------------------------------------------------------


async def test_bad_signature_is_tx_bad_auth_and_changes_nothing(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "10")
    before = horizon_state.account(payer.public_key)
    account = Account(payer.public_key, before.sequence)  # type: ignore[union-attr]
    tx = (
        TransactionBuilder(account, PASSPHRASE, 100)
        .append_payment_op(cngn.system.public_key, cngn.asset, "1")
        .set_timeout(60)
        .build()
    )
    tx.sign(Keypair.random())

    error = await rejection(server, tx.to_xdr())

    assert error.extras["result_codes"] == {"transaction": "tx_bad_auth"}  # type: ignore[index]
    assert horizon_state.account(payer.public_key) == before


async def test_signature_for_another_network_is_tx_bad_auth(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "10")
    account = Account(payer.public_key, horizon_state.account(payer.public_key).sequence)  # type: ignore[union-attr]
    tx = (
        TransactionBuilder(account, "Public Global Stellar Network ; September 2015", 100)
        .append_payment_op(cngn.system.public_key, cngn.asset, "1")
        .set_timeout(60)
        .build()
    )
    tx.sign(payer)
    error = await rejection(server, tx.to_xdr())
    assert error.extras["result_codes"]["transaction"] == "tx_bad_auth"  # type: ignore[index]


async def test_wrong_sequence_is_tx_bad_seq(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "10")
    sequence = horizon_state.account(payer.public_key).sequence  # type: ignore[union-attr]
    envelope = signed_payment(
        horizon_state, payer, cngn.system.public_key, cngn.asset, "1", sequence=sequence + 1
    )
    error = await rejection(server, envelope)
    assert error.extras["result_codes"] == {"transaction": "tx_bad_seq"}  # type: ignore[index]
    result = stellar_xdr.TransactionResult.from_xdr(error.extras["result_xdr"])  # type: ignore[index]
    assert result.result.code == stellar_xdr.TransactionResultCode.txBAD_SEQ


async def test_no_trustline_fails_in_the_ledger_spending_fee_and_sequence(
    server: ServerAsync, http: httpx.AsyncClient, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    stranger = create_payer(horizon_state, cngn, trustline=False)
    before = horizon_state.account(cngn.system.public_key)
    refund = signed_payment(horizon_state, cngn.system, stranger.public_key, cngn.asset, "5")

    error = await rejection(server, refund)

    assert error.extras["result_codes"] == {  # type: ignore[index]
        "transaction": "tx_failed",
        "operations": ["op_no_trust"],
    }
    after = horizon_state.account(cngn.system.public_key)
    assert before is not None and after is not None
    assert after.sequence == before.sequence + 1
    assert after.balance == before.balance - 100
    assert after.trustlines == before.trustlines
    tx_hash = TransactionEnvelope.from_xdr(refund, PASSPHRASE).hash_hex()
    failed = await server.transactions().transaction(tx_hash).call()
    assert failed["successful"] is False
    visible = await server.payments().for_account(stranger.public_key).call()
    assert visible["_embedded"]["records"] == []
    with_failed = await http.get(
        f"/accounts/{stranger.public_key}/payments", params={"include_failed": "true"}
    )
    [record] = with_failed.json()["_embedded"]["records"]
    assert record["transaction_successful"] is False


async def test_underfunded_and_missing_destination(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "10")
    too_much = signed_payment(horizon_state, payer, cngn.system.public_key, cngn.asset, "10.01")
    error = await rejection(server, too_much)
    assert error.extras["result_codes"]["operations"] == ["op_underfunded"]  # type: ignore[index]

    nowhere = signed_payment(horizon_state, payer, Keypair.random().public_key, cngn.asset, "1")
    error = await rejection(server, nowhere)
    assert error.extras["result_codes"]["operations"] == ["op_no_destination"]  # type: ignore[index]


async def test_time_bounds_and_fee_are_enforced(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "10")
    sequence = horizon_state.account(payer.public_key).sequence  # type: ignore[union-attr]
    now = int(time.time())

    def envelope(min_time: int, max_time: int, base_fee: int = 100) -> str:
        tx = (
            TransactionBuilder(Account(payer.public_key, sequence), PASSPHRASE, base_fee)
            .append_payment_op(cngn.system.public_key, cngn.asset, "1")
            .add_time_bounds(min_time, max_time)
            .build()
        )
        tx.sign(payer)
        return str(tx.to_xdr())

    for xdr, code in (
        (envelope(0, now - 5), "tx_too_late"),
        (envelope(now + 3600, 0), "tx_too_early"),
        (envelope(0, now + 60, base_fee=99), "tx_insufficient_fee"),
    ):
        error = await rejection(server, xdr)
        assert error.extras["result_codes"] == {"transaction": code}  # type: ignore[index]


async def test_malformed_envelope(http: httpx.AsyncClient) -> None:
    response = await http.post("/transactions", data={"tx": "AAAA"})
    assert response.status_code == 400
    assert response.json()["type"] == "https://stellar.org/horizon-errors/transaction_malformed"


# --- idempotency and faults -----------------------------------------------------------------


async def test_504_after_apply_then_resubmit_pays_exactly_once(
    server: ServerAsync, http: httpx.AsyncClient, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn)
    refund = signed_payment(
        horizon_state, cngn.system, payer.public_key, cngn.asset, "5030", memo="REFUND-X1"
    )
    await http.post("/_sandbox/faults", json={"submit_504_after_apply": 1})

    with pytest.raises(BadResponseError) as timeout:
        await server.submit_transaction(refund)
    assert timeout.value.status == 504 and timeout.value.title == "Timeout"

    again = await server.submit_transaction(refund)
    assert again["successful"] is True
    assert cngn_balance(horizon_state, payer.public_key, cngn.asset) == 5030 * 10**7
    applied = (await http.get("/_sandbox/payments", params={"account": payer.public_key})).json()
    assert [r["transaction"]["memo"] for r in applied["records"]] == ["REFUND-X1"]


async def test_503_before_apply_applies_nothing(
    server: ServerAsync, http: httpx.AsyncClient, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "10")
    envelope = signed_payment(horizon_state, payer, cngn.system.public_key, cngn.asset, "1")
    await http.post("/_sandbox/faults", json={"submit_503_before_apply": 1})
    with pytest.raises(BadResponseError) as unavailable:
        await server.submit_transaction(envelope)
    assert unavailable.value.status == 503
    assert cngn_balance(horizon_state, payer.public_key, cngn.asset) == 10 * 10**7
    assert (await server.submit_transaction(envelope))["successful"] is True


async def test_resubmitting_a_failed_transaction_returns_its_result(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "1")
    envelope = signed_payment(horizon_state, payer, cngn.system.public_key, cngn.asset, "2")
    first = await rejection(server, envelope)
    second = await rejection(server, envelope)
    assert first.extras == second.extras
    assert second.extras["result_codes"]["operations"] == ["op_underfunded"]  # type: ignore[index]


async def test_latency_fault(http: httpx.AsyncClient) -> None:
    await http.post("/_sandbox/faults", json={"latency_ms": 200})
    started = time.monotonic()
    await http.get("/fee_stats")
    assert time.monotonic() - started >= 0.2
    await http.post("/_sandbox/faults", json={})


# --- other operations and record shapes -----------------------------------------------------


async def test_create_account_and_change_trust_through_transactions(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    newcomer = Keypair.random()
    funder = await server.load_account(cngn.issuer.public_key)
    created = (
        TransactionBuilder(funder, PASSPHRASE, 100)
        .append_create_account_op(newcomer.public_key, "5")
        .set_timeout(60)
        .build()
    )
    created.sign(cngn.issuer)
    await server.submit_transaction(created)
    trusting = (
        TransactionBuilder(await server.load_account(newcomer.public_key), PASSPHRASE, 100)
        .append_change_trust_op(cngn.asset)
        .set_timeout(60)
        .build()
    )
    trusting.sign(newcomer)
    await server.submit_transaction(trusting)
    minted = signed_payment(horizon_state, cngn.issuer, newcomer.public_key, cngn.asset, "7")
    await server.submit_transaction(minted)

    records = (await server.payments().for_account(newcomer.public_key).call())["_embedded"][
        "records"
    ]
    assert [r["type"] for r in records] == ["create_account", "payment"]
    assert (
        records[0]
        | {
            "type_i": 0,
            "starting_balance": "5.0000000",
            "funder": cngn.issuer.public_key,
            "account": newcomer.public_key,
        }
        == records[0]
    )
    assert "to" not in records[0] and "amount" not in records[0]
    assert cngn_balance(horizon_state, newcomer.public_key, cngn.asset) == 7 * 10**7


async def test_path_payments_record_what_was_received(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "100")
    account = await server.load_account(payer.public_key)
    tx = (
        TransactionBuilder(account, PASSPHRASE, 100)
        .append_path_payment_strict_receive_op(
            cngn.system.public_key, Asset.native(), "40", cngn.asset, "5030", []
        )
        .append_path_payment_strict_send_op(
            cngn.system.public_key, cngn.asset, "20", cngn.asset, "19", []
        )
        .add_text_memo("BILL-PATH")
        .set_timeout(60)
        .build()
    )
    tx.sign(payer)
    await server.submit_transaction(tx)

    strict_receive, strict_send = (
        await server.payments().for_account(cngn.system.public_key).call()
    )["_embedded"]["records"]
    of_transaction = await server.payments().for_transaction(tx.hash_hex()).call()
    assert of_transaction["_embedded"]["records"] == [strict_receive, strict_send]
    assert (
        strict_receive
        | {
            "type": "path_payment_strict_receive",
            "type_i": 2,
            "amount": "5030.0000000",
            "asset_code": "cNGN",
            "source_amount": "40.0000000",
            "source_max": "40.0000000",
            "source_asset_type": "native",
            "path": [],
        }
        == strict_receive
    )
    assert (
        strict_send
        | {
            "type": "path_payment_strict_send",
            "type_i": 13,
            "amount": "20.0000000",
            "source_amount": "20.0000000",
            "destination_min": "19.0000000",
            "source_asset_code": "cNGN",
        }
        == strict_send
    )
    assert cngn_balance(horizon_state, cngn.system.public_key, cngn.asset) == 105050 * 10**7


@pytest.mark.parametrize(
    ("memo", "memo_type", "memo_value"),
    [
        (IdMemo(42), "id", "42"),
        (HashMemo(b"\x01" * 32), "hash", base64.b64encode(b"\x01" * 32).decode()),
        (ReturnHashMemo(b"\x02" * 32), "return", base64.b64encode(b"\x02" * 32).decode()),
        (NoneMemo(), "none", None),
    ],
)
async def test_memo_types_are_lower_case(
    server: ServerAsync,
    horizon_state: HorizonState,
    cngn: CngnNetwork,
    memo: Any,
    memo_type: str,
    memo_value: str | None,
) -> None:
    payer = create_payer(horizon_state, cngn, "1")
    envelope = signed_payment(
        horizon_state, payer, cngn.system.public_key, cngn.asset, "1", memo=memo
    )
    response = await server.submit_transaction(envelope)
    assert response["memo_type"] == memo_type
    assert response.get("memo") == memo_value


# --- streaming --------------------------------------------------------------------------------


async def collect(
    stream: AsyncIterator[dict[str, Any]], count: int, into: list[dict[str, Any]]
) -> None:
    async for record in stream:
        into.append(record)
        if len(into) == count:
            return


async def wait_until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_sse_stream_resumes_from_cursor_and_pushes_new_records(
    server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "100")
    hashes = [
        (await deposit(server, horizon_state, payer, cngn, "1", f"BILL-S{i}"))["hash"]
        for i in range(3)
    ]
    first = (await server.payments().for_account(cngn.system.public_key).limit(1).call())[
        "_embedded"
    ]["records"][0]

    received: list[dict[str, Any]] = []
    stream = (
        server.payments()
        .for_account(cngn.system.public_key)
        .cursor(first["paging_token"])
        .join("transactions")
        .stream()
    )
    consumer = asyncio.create_task(collect(stream, 4, received))
    await wait_until(lambda: len(received) == 2)
    hashes += [
        (await deposit(server, horizon_state, payer, cngn, "1", f"BILL-S{i}"))["hash"]
        for i in (3, 4)
    ]
    await asyncio.wait_for(consumer, 10)
    await stream.aclose()

    assert [r["transaction_hash"] for r in received] == hashes[1:5]
    assert [r["transaction"]["memo"] for r in received] == [
        "BILL-S1",
        "BILL-S2",
        "BILL-S3",
        "BILL-S4",
    ]


async def test_raw_sse_framing(
    horizon: ThreadedServer, http: httpx.AsyncClient, cngn: CngnNetwork
) -> None:
    async with http.stream(
        "GET",
        f"/accounts/{cngn.system.public_key}/payments",
        headers={"Accept": "text/event-stream"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert [await anext(lines) for _ in range(3)] == [
            "retry: 20",
            "event: open",
            'data: "hello"',
        ]


async def test_clean_stream_close_resumes_with_last_event_id(
    server: ServerAsync, http: httpx.AsyncClient, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    payer = create_payer(horizon_state, cngn, "100")
    hashes = [
        (await deposit(server, horizon_state, payer, cngn, "1", f"BILL-C{i}"))["hash"]
        for i in range(6)
    ]
    await http.post(
        "/_sandbox/faults",
        json={"stream_drop_after_events": 2, "stream_drops": 2, "stream_drop_mode": "close"},
    )
    received: list[dict[str, Any]] = []
    stream = server.payments().for_account(cngn.system.public_key).cursor("0").stream()
    await asyncio.wait_for(collect(stream, 6, received), 10)
    await stream.aclose()
    assert [r["transaction_hash"] for r in received] == hashes
    assert horizon_state.faults.settings.stream_drops == 0  # both connections were cut


# --- admin API --------------------------------------------------------------------------------


async def test_admin_accounts_faults_reset(
    http: httpx.AsyncClient, server: ServerAsync, horizon_state: HorizonState, cngn: CngnNetwork
) -> None:
    created = (
        await http.post(
            "/_sandbox/accounts",
            json={
                "trustlines": [
                    {"asset_code": "cNGN", "asset_issuer": cngn.issuer.public_key, "balance": "250"}
                ]
            },
        )
    ).json()
    payer = Keypair.from_secret(created["secret"])
    assert created["account_id"] == payer.public_key
    assert created["account"]["balances"][0]["balance"] == "250.0000000"
    topped_up = await http.post(
        "/_sandbox/accounts", json={"account_id": payer.public_key, "xlm": "5"}
    )
    assert topped_up.json()["account"]["balances"][-1]["balance"] == "10005.0000000"
    # Balances from the admin API are not payments: nothing shows up in the history.
    assert (await http.get("/_sandbox/payments")).json() == {"records": []}

    armed = await http.post("/_sandbox/faults", json={"submit_504_after_apply": 2})
    assert armed.json()["submit_504_after_apply"] == 2
    assert (await http.post("/_sandbox/reset")).json() == {"reset": True}
    assert (await http.get("/_sandbox/faults")).json() == FaultSettings().model_dump()
    assert horizon_state.account(payer.public_key) is None
    bad = await http.post(
        "/_sandbox/accounts",
        json={"trustlines": [{"asset_code": "cNGN", "asset_issuer": "nope"}]},
    )
    assert bad.status_code == 400
