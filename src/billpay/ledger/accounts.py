"""Ledger account codes. One place names every account so entries and reconcile agree.

Every balance is credits − debits. The accounts, and what each one's balance must be:

- ``external:deposits`` (outside): minus the merchants' top-ups.
- ``external:<method>`` (outside): minus the payer money received by ``method``, plus what
  went back to payers.
- ``client:<id>:available`` (liability, guarded): a merchant's spendable balance, never
  negative. Opened only for a client that exists.
- ``client:<id>:reserved`` (clearing): amount + fee of the client's unfinished balance
  payments; a finished payment's entries on it net to zero.
- ``funding:<method>:held`` (clearing, Stellar and Paystack): payer money received and not
  yet vended or returned. Each entry names its payment (``payment_id``) when the money is for
  one (a Stellar deposit naming no payment has none); a payment's entries net to zero once
  it is final and its refunds are done.
- ``funding:<method>:quarantined`` (suspense): money that could not be returned on its own
  (a quarantined Stellar refund, a failed Paystack refund of a finished payment's money);
  an operator decides.
- ``provider:<name>:payable`` (liability): what billpay owes each provider, exactly what it
  was asked to take for each vend (its own price, or the amount requested).
- ``revenue:fees`` (revenue): the payers' fees.
- ``revenue:margin`` (revenue): advertised price − provider's cost, on routes that cost less.
- ``expense:route_losses`` (expense, a debit balance): provider's cost − advertised price, on
  routes sold at a loss (only with ``BILLPAY_ALLOW_LOSS_ROUTES``).

Entry kinds: ``top_up``, ``reserve``, ``funds_received``, ``vend`` (holding → payable, the
provider's cost), ``margin``, ``route_loss`` (expense → holding), ``fee``, their reversals
``reversal``/``margin_reversal``/``route_loss_reversal``/``fee_reversal``, ``refund``,
``excess_refund``, ``quarantine``.
"""

from __future__ import annotations

import uuid

# Where merchants' top-ups come from (money outside billpay's books).
EXTERNAL_DEPOSITS = "external:deposits"
FEE_REVENUE = "revenue:fees"
# A fixed-price plan is sold at one advertised price; each provider is paid its own cost.
MARGIN_REVENUE = "revenue:margin"
ROUTE_LOSSES = "expense:route_losses"


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


def funding_quarantined(method: str) -> str:
    """Suspense account: money received by ``method`` that could not be sent back on its own."""
    return f"funding:{method}:quarantined"


def external_funding(method: str) -> str:
    """The payers' side of a funding method (money outside billpay's books)."""
    return f"external:{method}"


def holding_account(funding_method: str, client_id: uuid.UUID) -> str:
    """Where a payment's money sits while it is unfinished."""
    if funding_method == "balance":
        return client_reserved(client_id)
    return funding_held(funding_method)


TEST_MODE_PREFIX = "test:"


def in_mode(code: str, livemode: bool) -> str:
    """The shared account ``code`` of a payment's mode: test-mode money (a merchant's test
    twin, vending at the simulators) is booked on ``test:``-prefixed copies of the shared
    accounts (``test:provider:vtpass:payable``, ``test:revenue:fees``, …), never on the live
    ones. Client accounts need no prefix: a test twin is a client of its own."""
    return code if livemode else TEST_MODE_PREFIX + code


def is_guarded(code: str) -> bool:
    """Accounts whose balance is checked before money leaves them (merchants' available)."""
    return code.startswith("client:") and code.endswith(":available")
