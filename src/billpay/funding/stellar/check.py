"""``billpay stellar check``: the system account's cNGN on the network against the ledger.

The ledger's view is what the NGN books say the account holds: every kobo of cNGN received
(``external:stellar`` debits) minus every kobo returned (its credits). Money that has been
vended stays on the account until an operator moves it, so nothing else is subtracted. The
sub-kobo part of deposits that were not a whole number of kobo never enters the ledger and is
added back. Anything else is a discrepancy, explained by the refunds and records listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from billpay.funding.base import FundingContext
from billpay.funding.stellar import books
from billpay.funding.stellar import repository as repo
from billpay.funding.stellar.config import StellarConfig
from billpay.funding.stellar.horizon import AccountNotFoundError, HorizonClient
from billpay.funding.stellar.states import DepositState
from billpay.money import STROOPS_PER_KOBO, STROOPS_PER_UNIT, format_naira, stellar_floor_kobo


class StellarNotConfiguredError(Exception):
    pass


@dataclass(frozen=True)
class BalanceCheck:
    account: str
    asset: str
    on_chain_stroops: int
    ledger_kobo: int  # the NGN ledger's net cNGN received
    dust_stroops: int  # sub-kobo parts of received amounts, outside the ledger
    in_flight: list[tuple[int, int, str | None]] = field(default_factory=list)
    quarantined: int = 0

    @property
    def expected_stroops(self) -> int:
        return self.ledger_kobo * STROOPS_PER_KOBO + self.dust_stroops

    @property
    def difference_stroops(self) -> int:
        return self.on_chain_stroops - self.expected_stroops

    @property
    def ok(self) -> bool:
        return self.difference_stroops == 0

    def lines(self) -> list[str]:
        lines = [
            f"account {self.account}, asset {self.asset}",
            f"on the network: {_units(self.on_chain_stroops)}",
            f"ledger's view:  {_units(self.expected_stroops)} "
            f"({format_naira(self.ledger_kobo)} received net"
            + (f" + {_units(self.dust_stroops)} sub-kobo dust)" if self.dust_stroops else ")"),
        ]
        if self.in_flight:
            count = len(self.in_flight)
            lines.append(f"refunds in flight (maybe applied, not yet booked): {count}")
            lines += [f"  refund {i}: {kobo} kobo, tx {h}" for i, kobo, h in self.in_flight]
        if self.quarantined:
            lines.append(f"quarantined deposits awaiting an operator: {self.quarantined}")
        if self.ok:
            lines.append("cNGN balance matches the ledger")
        else:
            lines.append(f"MISMATCH: the network holds {_units(self.difference_stroops)} more")
        return lines


async def check_balance(context: FundingContext) -> BalanceCheck:
    config = StellarConfig.from_settings(context.settings)
    if config is None:
        raise StellarNotConfiguredError(
            "Stellar is not configured (STELLAR_HORIZON_URL, STELLAR_SYSTEM_SECRET, "
            "CNGN_ASSET_ISSUER)"
        )
    code, issuer = config.asset.code, config.asset.issuer
    assert code is not None and issuer is not None
    async with HorizonClient(config.horizon_url) as horizon:
        try:
            balances = await horizon.balances(config.account)
        except AccountNotFoundError:
            balances = []
    on_chain = sum(
        _stroops(entry["balance"])
        for entry in balances
        if entry.get("asset_code") == code and entry.get("asset_issuer") == issuer
    )
    async with context.unit_of_work() as session:
        ledger_kobo = await books.net_received_kobo(session)
        inexact = await repo.inexact_cngn_deposits(session, config.account, code, issuer)
        in_flight = await repo.refunds_in_flight(session, config.account)
        quarantined = await repo.count_deposits(session, config.account, DepositState.QUARANTINED)
    dust = sum(_stroops(a) - stellar_floor_kobo(a) * STROOPS_PER_KOBO for a in inexact)
    return BalanceCheck(
        account=config.account,
        asset=f"{code}:{issuer}",
        on_chain_stroops=on_chain,
        ledger_kobo=ledger_kobo,
        dust_stroops=dust,
        in_flight=[(r.id, r.amount_kobo, r.tx_hash) for r in in_flight],
        quarantined=quarantined,
    )


def _stroops(amount: str) -> int:
    return int(Decimal(amount) * STROOPS_PER_UNIT)


def _units(stroops: int) -> str:
    return f"{Decimal(stroops) / STROOPS_PER_UNIT:.7f}"
