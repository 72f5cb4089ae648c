"""Ledger account codes. One place names every account so entries and reconcile agree."""

from __future__ import annotations

import uuid

# Where merchants' top-ups come from (money outside billpay's books).
EXTERNAL_DEPOSITS = "external:deposits"
FEE_REVENUE = "revenue:fees"


def client_available(client_id: uuid.UUID) -> str:
    return f"client:{client_id}:available"


def client_reserved(client_id: uuid.UUID) -> str:
    """Clearing account: amount + fee of the client's unfinished payments. Drains to zero."""
    return f"client:{client_id}:reserved"


def provider_payable(provider: str) -> str:
    """What billpay owes each provider for vends it delivered (settled from the provider float)."""
    return f"provider:{provider}:payable"


def funding_held(method: str) -> str:
    """Clearing account: payer money received by ``method`` and not yet vended or returned."""
    return f"funding:{method}:held"


def external_funding(method: str) -> str:
    """The payers' side of a funding method (money outside billpay's books)."""
    return f"external:{method}"


def holding_account(funding_method: str, client_id: uuid.UUID) -> str:
    """Where a payment's money sits while it is unfinished."""
    if funding_method == "balance":
        return client_reserved(client_id)
    return funding_held(funding_method)


def is_guarded(code: str) -> bool:
    """Accounts whose balance is checked before money leaves them (merchants' available)."""
    return code.startswith("client:") and code.endswith(":available")
