"""The ``TransactionResult`` XDR Horizon returns as ``result_xdr``, built from an outcome.

Horizon derives its ``result_codes`` strings from this XDR; here the strings come first, so
the mapping runs the other way: ``op_no_trust`` on a payment is ``PAYMENT_NO_TRUST``.
"""

from __future__ import annotations

from typing import Any

from stellar_sdk import Keypair
from stellar_sdk import xdr as stellar_xdr

from billpay.sandbox.horizon.envelope import (
    ChangeTrustOp,
    CreateAccountOp,
    Envelope,
    Operation,
    PathPaymentOp,
    PaymentOp,
)
from billpay.sandbox.horizon.ledger import OP_SUCCESS, TransactionOutcome, path_payment_amounts

_TRANSACTION_CODES = {
    "tx_success": stellar_xdr.TransactionResultCode.txSUCCESS,
    "tx_failed": stellar_xdr.TransactionResultCode.txFAILED,
    "tx_too_early": stellar_xdr.TransactionResultCode.txTOO_EARLY,
    "tx_too_late": stellar_xdr.TransactionResultCode.txTOO_LATE,
    "tx_missing_operation": stellar_xdr.TransactionResultCode.txMISSING_OPERATION,
    "tx_bad_seq": stellar_xdr.TransactionResultCode.txBAD_SEQ,
    "tx_bad_auth": stellar_xdr.TransactionResultCode.txBAD_AUTH,
    "tx_insufficient_balance": stellar_xdr.TransactionResultCode.txINSUFFICIENT_BALANCE,
    "tx_no_source_account": stellar_xdr.TransactionResultCode.txNO_ACCOUNT,
    "tx_insufficient_fee": stellar_xdr.TransactionResultCode.txINSUFFICIENT_FEE,
    "tx_bad_auth_extra": stellar_xdr.TransactionResultCode.txBAD_AUTH_EXTRA,
}

# Failures of the operation envelope itself, before the operation's own logic runs.
_OUTER_OPERATION_CODES = {
    "op_bad_auth": stellar_xdr.OperationResultCode.opBAD_AUTH,
    "op_no_source_account": stellar_xdr.OperationResultCode.opNO_ACCOUNT,
    "op_not_supported": stellar_xdr.OperationResultCode.opNOT_SUPPORTED,
}

# Horizon's string → the suffix of the operation-specific XDR enum member.
_INNER_SUFFIXES = {
    OP_SUCCESS: "SUCCESS",
    "op_malformed": "MALFORMED",
    "op_underfunded": "UNDERFUNDED",
    "op_src_no_trust": "SRC_NO_TRUST",
    "op_no_destination": "NO_DESTINATION",
    "op_no_trust": "NO_TRUST",
    "op_line_full": "LINE_FULL",
    "op_no_issuer": "NO_ISSUER",
    "op_over_source_max": "OVER_SENDMAX",
    "op_under_dest_min": "UNDER_DESTMIN",
    "op_already_exists": "ALREADY_EXIST",
    "op_low_reserve": "LOW_RESERVE",
    "op_invalid_limit": "INVALID_LIMIT",
    "op_self_not_allowed": "SELF_NOT_ALLOWED",
}


def _code(enum: type, prefix: str, code: str) -> Any:
    return getattr(enum, f"{prefix}_{_INNER_SUFFIXES[code]}")


def _path_payment_result(op: PathPaymentOp, code: str) -> stellar_xdr.OperationResultTr:
    last = None
    if code == OP_SUCCESS:
        _, received = path_payment_amounts(op)
        last = stellar_xdr.SimplePaymentResult(
            destination=Keypair.from_public_key(op.destination.account_id).xdr_account_id(),
            asset=op.dest_asset.to_xdr_object(),
            amount=stellar_xdr.Int64(received),
        )
    if op.strict_receive:
        receive_code = _code(
            stellar_xdr.PathPaymentStrictReceiveResultCode, "PATH_PAYMENT_STRICT_RECEIVE", code
        )
        receive_success = (
            stellar_xdr.PathPaymentStrictReceiveResultSuccess([], last) if last else None
        )
        return stellar_xdr.OperationResultTr(
            stellar_xdr.OperationType.PATH_PAYMENT_STRICT_RECEIVE,
            path_payment_strict_receive_result=stellar_xdr.PathPaymentStrictReceiveResult(
                receive_code, success=receive_success
            ),
        )
    send_code = _code(stellar_xdr.PathPaymentStrictSendResultCode, "PATH_PAYMENT_STRICT_SEND", code)
    send_success = stellar_xdr.PathPaymentStrictSendResultSuccess([], last) if last else None
    return stellar_xdr.OperationResultTr(
        stellar_xdr.OperationType.PATH_PAYMENT_STRICT_SEND,
        path_payment_strict_send_result=stellar_xdr.PathPaymentStrictSendResult(
            send_code, success=send_success
        ),
    )


def _inner_result(op: Operation, code: str) -> stellar_xdr.OperationResultTr:
    kind = stellar_xdr.OperationType
    if isinstance(op, PaymentOp):
        return stellar_xdr.OperationResultTr(
            kind.PAYMENT,
            payment_result=stellar_xdr.PaymentResult(
                _code(stellar_xdr.PaymentResultCode, "PAYMENT", code)
            ),
        )
    if isinstance(op, PathPaymentOp):
        return _path_payment_result(op, code)
    if isinstance(op, CreateAccountOp):
        return stellar_xdr.OperationResultTr(
            kind.CREATE_ACCOUNT,
            create_account_result=stellar_xdr.CreateAccountResult(
                _code(stellar_xdr.CreateAccountResultCode, "CREATE_ACCOUNT", code)
            ),
        )
    assert isinstance(op, ChangeTrustOp)  # unsupported operations only have outer codes
    return stellar_xdr.OperationResultTr(
        kind.CHANGE_TRUST,
        change_trust_result=stellar_xdr.ChangeTrustResult(
            _code(stellar_xdr.ChangeTrustResultCode, "CHANGE_TRUST", code)
        ),
    )


def _operation_result(op: Operation, code: str) -> stellar_xdr.OperationResult:
    if code in _OUTER_OPERATION_CODES:
        return stellar_xdr.OperationResult(_OUTER_OPERATION_CODES[code])
    return stellar_xdr.OperationResult(
        stellar_xdr.OperationResultCode.opINNER, tr=_inner_result(op, code)
    )


def result_xdr(envelope: Envelope, outcome: TransactionOutcome) -> str:
    """Base64 ``TransactionResult``; operation results only for ``tx_success``/``tx_failed``."""
    results = None
    if outcome.operation_codes:
        results = [
            _operation_result(op, code)
            for op, code in zip(envelope.operations, outcome.operation_codes, strict=True)
        ]
    result = stellar_xdr.TransactionResult(
        fee_charged=stellar_xdr.Int64(outcome.fee_charged),
        result=stellar_xdr.TransactionResultResult(
            _TRANSACTION_CODES[outcome.code], results=results
        ),
        ext=stellar_xdr.TransactionResultExt(0),
    )
    xdr: str = result.to_xdr()
    return xdr
