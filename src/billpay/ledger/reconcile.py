"""``billpay reconcile``: the ledger proves itself (DESIGN §1.6)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.ledger import repository as repo
from billpay.money import format_naira

# Reserved balance per client must equal amount + fee of its payments still holding money.
_RESERVED_MISMATCH = text(
    """
    SELECT c.id::text, COALESCE(a.balance_kobo, 0) AS reserved,
           COALESCE(SUM(p.total_kobo) FILTER (
               WHERE p.funding_method = 'balance'
                 AND p.status IN ('pending', 'processing', 'refunding', 'needs_review')), 0) AS held
    FROM clients c
    LEFT JOIN ledger_accounts a ON a.code = 'client:' || c.id::text || '\\:reserved'
    LEFT JOIN payments p ON p.client_id = c.id
    GROUP BY c.id, a.balance_kobo
    HAVING COALESCE(a.balance_kobo, 0) <> COALESCE(SUM(p.total_kobo) FILTER (
               WHERE p.funding_method = 'balance'
                 AND p.status IN ('pending', 'processing', 'refunding', 'needs_review')), 0)
    """
)
# A finished balance-funded payment's postings on the reserved account must net to zero.
_UNDRAINED_PAYMENTS = text(
    """
    SELECT p.id::text, SUM(CASE WHEN e.credit_account_id = a.id THEN e.amount_kobo
                                ELSE -e.amount_kobo END) AS net
    FROM payments p
    JOIN ledger_accounts a ON a.code = 'client:' || p.client_id::text || '\\:reserved'
    JOIN ledger_entries e ON e.payment_id = p.id
         AND (e.credit_account_id = a.id OR e.debit_account_id = a.id)
    WHERE p.funding_method = 'balance' AND p.status IN ('paid', 'refunded', 'failed')
    GROUP BY p.id
    HAVING SUM(CASE WHEN e.credit_account_id = a.id THEN e.amount_kobo
                    ELSE -e.amount_kobo END) <> 0
    """
)


@dataclass
class ReconcileReport:
    total_kobo: int
    out_of_step: list[tuple[str, int, int]] = field(default_factory=list)
    reserved_mismatch: list[tuple[str, int, int]] = field(default_factory=list)
    undrained: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.total_kobo == 0
            and not self.out_of_step
            and not self.reserved_mismatch
            and not self.undrained
        )

    def lines(self) -> list[str]:
        lines = [f"sum of all balances: {self.total_kobo} kobo (must be 0)"]
        lines += [
            f"account {code}: stored {stored} ≠ entries {derived}"
            for code, stored, derived in self.out_of_step
        ]
        lines += [
            f"client {client}: reserved {format_naira(reserved)} ≠ held {format_naira(held)}"
            for client, reserved, held in self.reserved_mismatch
        ]
        lines += [
            f"payment {pid}: reservation not drained ({net} kobo)" for pid, net in self.undrained
        ]
        lines.append("ledger OK" if self.ok else "ledger has discrepancies")
        return lines


async def reconcile(session: AsyncSession) -> ReconcileReport:
    reserved = await session.execute(_RESERVED_MISMATCH)
    undrained = await session.execute(_UNDRAINED_PAYMENTS)
    return ReconcileReport(
        total_kobo=await repo.total_of_all_balances(session),
        out_of_step=await repo.accounts_out_of_step(session),
        reserved_mismatch=[(c, int(r), int(h)) for c, r, h in reserved.all()],
        undrained=[(p, int(n)) for p, n in undrained.all()],
    )
