"""Friendbot for tests and benchmarks: the cNGN issuer, billpay's system account and payers,
with trustlines and balances, written straight into a ``HorizonState``; and payments signed
the way a payer's wallet signs them."""

from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import Account, Asset, Keypair, Memo, TextMemo, TransactionBuilder

from billpay.sandbox.horizon.state import HorizonState, TrustlineGrant


@dataclass(frozen=True)
class CngnNetwork:
    asset: Asset
    issuer: Keypair
    system: Keypair


def bootstrap_cngn(
    state: HorizonState,
    *,
    asset_code: str = "cNGN",
    system_balance: str = "0",
    issuer: Keypair | None = None,
    system: Keypair | None = None,
) -> CngnNetwork:
    """The issuer, and the system account trusting the asset and holding ``system_balance``
    (what refunds are paid from)."""
    issuer = issuer or Keypair.random()
    system = system or Keypair.random()
    asset = Asset(asset_code, issuer.public_key)
    state.fund_account(issuer.public_key)
    state.fund_account(system.public_key, trustlines=[TrustlineGrant(asset, system_balance)])
    return CngnNetwork(asset, issuer, system)


def create_payer(
    state: HorizonState,
    network: CngnNetwork,
    balance: str = "0",
    *,
    trustline: bool = True,
) -> Keypair:
    """A funded payer holding ``balance`` cNGN, or with no cNGN trustline at all."""
    payer = Keypair.random()
    grants = [TrustlineGrant(network.asset, balance)] if trustline else []
    state.fund_account(payer.public_key, trustlines=grants)
    return payer


def signed_payment(
    state: HorizonState,
    payer: Keypair,
    destination: str,
    asset: Asset,
    amount: str,
    *,
    memo: Memo | str | None = None,
    sequence: int | None = None,
    valid_for_seconds: int = 300,
) -> str:
    """A signed payment envelope (base64 XDR), built on the payer's current sequence number
    in ``state`` unless ``sequence`` says otherwise. A ``str`` memo is a text memo."""
    if sequence is None:
        account = state.account(payer.public_key)
        if account is None:
            raise ValueError(f"{payer.public_key} has no account")
        sequence = account.sequence
    builder = (
        TransactionBuilder(
            Account(payer.public_key, sequence), state.network_passphrase, state.base_fee
        )
        .append_payment_op(destination, asset, amount)
        .add_time_bounds(0, state.now() + valid_for_seconds)
    )
    if memo is not None:
        builder.add_memo(TextMemo(memo) if isinstance(memo, str) else memo)
    transaction = builder.build()
    transaction.sign(payer)
    envelope: str = transaction.to_xdr()
    return envelope
