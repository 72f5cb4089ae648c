"""Codes an operator can get correcting the books or asking for a statement."""

from __future__ import annotations

from billpay.errors.base import NotFound, Unprocessable


class UnknownAccount(Unprocessable):
    """An adjustment names a ledger account that does not exist (it would create one)."""

    code = "unknown_account"


class InvalidAdjustment(Unprocessable):
    """An adjustment's amount, accounts, reason or actor is not acceptable."""

    code = "invalid_adjustment"


class InvalidStatementRequest(Unprocessable):
    """A statement's provider or date range is not acceptable."""

    code = "invalid_statement_request"


class RunNotFound(NotFound):
    """No reconciliation run has that id."""

    code = "run_not_found"
