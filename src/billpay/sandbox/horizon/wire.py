"""Horizon's JSON shapes: accounts, transactions, payment operations, ledgers, pages and
problems, field for field as the real API renders them (providers.md §5.2, §5.3).

Bodies are built once, when a transaction is applied; ``_links`` depend on the base URL the
client used, so they are added when a response is rendered.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from stellar_sdk import Asset, HashMemo, IdMemo, Memo, ReturnHashMemo, TextMemo

from billpay.sandbox.horizon.envelope import (
    Address,
    CreateAccountOp,
    Envelope,
    Operation,
    PathPaymentOp,
    PaymentOp,
)
from billpay.sandbox.horizon.ledger import (
    BASE_RESERVE_STROOPS,
    ClosedLedger,
    LedgerAccount,
    path_payment_amounts,
)

STROOPS_PER_UNIT = 10_000_000
PROTOCOL_VERSION = 22
PROBLEM_BASE = "https://stellar.org/horizon-errors/"
# Horizon's operation type ids (``type_i``) for the payment-type operations it lists.
TYPE_IDS = {
    "create_account": 0,
    "payment": 1,
    "path_payment_strict_receive": 2,
    "path_payment_strict_send": 13,
}
JsonObject = dict[str, Any]


def amount(stroops: int) -> str:
    """Stroops → Horizon's 7-decimal string (``50300000000`` → ``"5030.0000000"``)."""
    sign = "-" if stroops < 0 else ""
    whole, fraction = divmod(abs(stroops), STROOPS_PER_UNIT)
    return f"{sign}{whole}.{fraction:07d}"


def timestamp(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def asset_fields(asset: Asset, prefix: str = "") -> JsonObject:
    if asset.is_native():
        return {f"{prefix}asset_type": "native"}
    return {
        f"{prefix}asset_type": asset.type,
        f"{prefix}asset_code": asset.code,
        f"{prefix}asset_issuer": asset.issuer,
    }


def _muxed_fields(name: str, address: Address) -> JsonObject:
    fields: JsonObject = {name: address.account_id}
    if address.muxed_id is not None:
        fields[f"{name}_muxed"] = address.muxed
        fields[f"{name}_muxed_id"] = str(address.muxed_id)
    return fields


def memo_fields(memo: Memo) -> JsonObject:
    """``memo_type`` in Horizon's lower case; ``memo`` is absent for ``none``."""
    if isinstance(memo, TextMemo):
        return {
            "memo_type": "text",
            "memo": memo.memo_text.decode("utf-8", errors="replace"),
            "memo_bytes": base64.b64encode(memo.memo_text).decode(),
        }
    if isinstance(memo, IdMemo):
        return {"memo_type": "id", "memo": str(memo.memo_id)}
    if isinstance(memo, HashMemo):
        return {"memo_type": "hash", "memo": base64.b64encode(memo.memo_hash).decode()}
    if isinstance(memo, ReturnHashMemo):
        return {"memo_type": "return", "memo": base64.b64encode(memo.memo_return).decode()}
    return {"memo_type": "none"}


def _time_bounds_fields(envelope: Envelope) -> JsonObject:
    if envelope.time_bounds is None:
        return {}
    min_time, max_time = envelope.time_bounds
    fields: JsonObject = {
        "valid_after": timestamp(min_time),
        "preconditions": {"timebounds": {"min_time": str(min_time), "max_time": str(max_time)}},
    }
    if max_time:
        fields["valid_before"] = timestamp(max_time)
    return fields


def transaction_body(
    *,
    envelope: Envelope,
    envelope_xdr: str,
    successful: bool,
    ledger: int,
    paging_token: int,
    close_time: int,
    fee_charged: int,
    result_xdr: str,
) -> JsonObject:
    return {
        "id": envelope.hash_hex,
        "paging_token": str(paging_token),
        "successful": successful,
        "hash": envelope.hash_hex,
        "ledger": ledger,
        "created_at": timestamp(close_time),
        "source_account": envelope.source.account_id,
        "source_account_sequence": str(envelope.sequence),
        "fee_account": envelope.source.account_id,
        "fee_charged": str(fee_charged),
        "max_fee": str(envelope.fee),
        "operation_count": len(envelope.operations),
        "envelope_xdr": envelope_xdr,
        "result_xdr": result_xdr,
        **memo_fields(envelope.memo),
        "signatures": [
            base64.b64encode(signature).decode() for _, signature in envelope.signatures
        ],
        **_time_bounds_fields(envelope),
    }


def _payment_type_fields(op: Operation) -> JsonObject | None:
    """The type-specific fields of a payment-type operation, or None for other operations."""
    if isinstance(op, CreateAccountOp):
        return {
            "type": "create_account",
            "starting_balance": amount(op.starting_balance),
            "account": op.destination,
        }
    if isinstance(op, PaymentOp):
        return {
            "type": "payment",
            **asset_fields(op.asset),
            **_muxed_fields("to", op.destination),
            "amount": amount(op.amount),
        }
    if isinstance(op, PathPaymentOp):
        sent, received = path_payment_amounts(op)
        if op.strict_receive:
            kind, limit = "path_payment_strict_receive", {"source_max": amount(op.send_limit)}
        else:
            kind, limit = "path_payment_strict_send", {"destination_min": amount(op.dest_limit)}
        return {
            "type": kind,
            **asset_fields(op.dest_asset),
            **_muxed_fields("to", op.destination),
            "amount": amount(received),
            "path": [asset_fields(asset) for asset in op.path],
            "source_amount": amount(sent),
            **limit,
            **asset_fields(op.send_asset, prefix="source_"),
        }
    return None


def payment_body(
    op: Operation,
    *,
    operation_id: int,
    source: Address,
    tx_hash: str,
    successful: bool,
    close_time: int,
) -> JsonObject | None:
    """The ``/payments`` record of ``op`` (without ``_links``), None if not payment-type."""
    fields = _payment_type_fields(op)
    if fields is None:
        return None
    kind = fields.pop("type")
    # Payments name their sender ``from``; create_account names it ``funder``.
    sender = "funder" if kind == "create_account" else "from"
    return {
        "id": str(operation_id),
        "paging_token": str(operation_id),
        "transaction_successful": successful,
        "source_account": source.account_id,
        "type": kind,
        "type_i": TYPE_IDS[kind],
        "created_at": timestamp(close_time),
        "transaction_hash": tx_hash,
        **fields,
        **_muxed_fields(sender, source),
    }


def operation_links(base: str, body: JsonObject) -> JsonObject:
    operation = f"{base}/operations/{body['id']}"
    return {
        "self": {"href": operation},
        "transaction": {"href": f"{base}/transactions/{body['transaction_hash']}"},
        "effects": {"href": f"{operation}/effects"},
        "succeeds": {"href": f"{base}/effects?order=desc&cursor={body['paging_token']}"},
        "precedes": {"href": f"{base}/effects?order=asc&cursor={body['paging_token']}"},
    }


def transaction_links(base: str, body: JsonObject) -> JsonObject:
    transaction = f"{base}/transactions/{body['hash']}"
    return {
        "self": {"href": transaction},
        "account": {"href": f"{base}/accounts/{body['source_account']}"},
        "ledger": {"href": f"{base}/ledgers/{body['ledger']}"},
        "operations": {
            "href": f"{transaction}/operations{{?cursor,limit,order}}",
            "templated": True,
        },
        "effects": {"href": f"{transaction}/effects{{?cursor,limit,order}}", "templated": True},
        "precedes": {"href": f"{base}/transactions?order=asc&cursor={body['paging_token']}"},
        "succeeds": {"href": f"{base}/transactions?order=desc&cursor={body['paging_token']}"},
        "transaction": {"href": transaction},
    }


def with_links(body: JsonObject, links: JsonObject) -> JsonObject:
    return {"_links": links, **body}


def _balance(asset: Asset, balance: int, limit: int | None, ledger: int) -> JsonObject:
    entry: JsonObject = {"balance": amount(balance)}
    if limit is not None:
        entry["limit"] = amount(limit)
    entry |= {"buying_liabilities": "0.0000000", "selling_liabilities": "0.0000000"}
    if limit is not None:
        entry |= {
            "last_modified_ledger": ledger,
            "is_authorized": True,
            "is_authorized_to_maintain_liabilities": True,
            "is_clawback_enabled": False,
        }
    return entry | asset_fields(asset)


def account_json(account: LedgerAccount, base: str) -> JsonObject:
    """What ``GET /accounts/{id}`` returns; ``Server.load_account`` reads ``sequence``."""
    account_url = f"{base}/accounts/{account.account_id}"
    templated = "{?cursor,limit,order}"
    trustlines = [
        _balance(asset, line.balance, line.limit, account.last_modified_ledger)
        for asset, line in account.trustlines.items()
    ]
    native = _balance(Asset.native(), account.balance, None, account.last_modified_ledger)
    return {
        "_links": {
            "self": {"href": account_url},
            "transactions": {"href": f"{account_url}/transactions{templated}", "templated": True},
            "operations": {"href": f"{account_url}/operations{templated}", "templated": True},
            "payments": {"href": f"{account_url}/payments{templated}", "templated": True},
            "effects": {"href": f"{account_url}/effects{templated}", "templated": True},
        },
        "id": account.account_id,
        "account_id": account.account_id,
        "sequence": str(account.sequence),
        "subentry_count": len(account.trustlines),
        "last_modified_ledger": account.last_modified_ledger,
        "thresholds": {"low_threshold": 0, "med_threshold": 0, "high_threshold": 0},
        "flags": {
            "auth_required": False,
            "auth_revocable": False,
            "auth_immutable": False,
            "auth_clawback_enabled": False,
        },
        # Horizon lists trustlines first and the native balance last.
        "balances": [*trustlines, native],
        "signers": [{"weight": 1, "key": account.account_id, "type": "ed25519_public_key"}],
        "data": {},
        "num_sponsoring": 0,
        "num_sponsored": 0,
        "paging_token": account.account_id,
    }


def page(
    records: list[JsonObject], *, url: str, params: dict[str, str], order: str, limit: int
) -> JsonObject:
    """A Horizon collection page; ``next`` continues after the last record, ``prev`` goes back
    from the first. Other query parameters (``join``, ``include_failed``) are kept."""

    def href(cursor: str, direction: str) -> str:
        query = {**params, "cursor": cursor, "limit": str(limit), "order": direction}
        return f"{url}?{urlencode(query)}"

    reverse = "desc" if order == "asc" else "asc"
    first = records[0]["paging_token"] if records else params.get("cursor", "")
    last = records[-1]["paging_token"] if records else params.get("cursor", "")
    return {
        "_links": {
            "self": {"href": href(params.get("cursor", ""), order)},
            "next": {"href": href(last, order)},
            "prev": {"href": href(first, reverse)},
        },
        "_embedded": {"records": records},
    }


def problem(
    status: int, kind: str, title: str, detail: str, extras: JsonObject | None = None
) -> JsonObject:
    body: JsonObject = {
        "type": PROBLEM_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if extras is not None:
        body["extras"] = extras
    return body


def ledger_json(ledger: ClosedLedger, base: str, base_fee: int) -> JsonObject:
    """A ledger record; ``Server.fetch_base_fee`` reads ``base_fee_in_stroops``."""
    ledger_url = f"{base}/ledgers/{ledger.sequence}"
    return {
        "_links": {
            "self": {"href": ledger_url},
            "transactions": {"href": f"{ledger_url}/transactions{{?cursor,limit,order}}"},
            "operations": {"href": f"{ledger_url}/operations{{?cursor,limit,order}}"},
            "payments": {"href": f"{ledger_url}/payments{{?cursor,limit,order}}"},
        },
        "id": ledger.hash,
        "paging_token": str(ledger.paging_token),
        "hash": ledger.hash,
        "prev_hash": ledger.prev_hash,
        "sequence": ledger.sequence,
        "successful_transaction_count": ledger.successful_transactions,
        "failed_transaction_count": ledger.failed_transactions,
        "operation_count": ledger.operations,
        "tx_set_operation_count": ledger.operations,
        "closed_at": timestamp(ledger.close_time),
        "base_fee_in_stroops": base_fee,
        "base_reserve_in_stroops": BASE_RESERVE_STROOPS,
        "max_tx_set_size": 1000,
        "protocol_version": PROTOCOL_VERSION,
    }


def fee_stats_json(ledger: ClosedLedger, base_fee: int) -> JsonObject:
    """No surge pricing in the simulator: every percentile is the base fee."""
    percentiles = ("p10", "p20", "p30", "p40", "p50", "p60", "p70", "p80", "p90", "p95", "p99")
    fees = {key: str(base_fee) for key in ("max", "min", "mode", *percentiles)}
    return {
        "last_ledger": str(ledger.sequence),
        "last_ledger_base_fee": str(base_fee),
        "ledger_capacity_usage": "0.00",
        "fee_charged": fees,
        "max_fee": fees,
    }


def root_json(ledger: ClosedLedger, genesis: int, base: str, network_passphrase: str) -> JsonObject:
    return {
        "_links": {
            "account": {"href": f"{base}/accounts/{{account_id}}", "templated": True},
            "account_transactions": {
                "href": f"{base}/accounts/{{account_id}}/transactions{{?cursor,limit,order}}",
                "templated": True,
            },
            "fee_stats": {"href": f"{base}/fee_stats"},
            "ledgers": {"href": f"{base}/ledgers{{?cursor,limit,order}}", "templated": True},
            "transaction": {"href": f"{base}/transactions/{{hash}}", "templated": True},
            "transactions": {
                "href": f"{base}/transactions{{?cursor,limit,order}}",
                "templated": True,
            },
            "self": {"href": f"{base}/"},
        },
        "horizon_version": "billpay-sandbox",
        "core_version": "billpay-sandbox",
        "ingest_latest_ledger": ledger.sequence,
        "history_latest_ledger": ledger.sequence,
        "history_latest_ledger_closed_at": timestamp(ledger.close_time),
        "history_elder_ledger": genesis,
        "core_latest_ledger": ledger.sequence,
        "network_passphrase": network_passphrase,
        "current_protocol_version": PROTOCOL_VERSION,
        "supported_protocol_version": PROTOCOL_VERSION,
        "core_supported_protocol_version": PROTOCOL_VERSION,
    }
