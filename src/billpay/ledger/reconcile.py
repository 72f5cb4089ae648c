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
    WITH reserved AS (
        SELECT c.id AS client_id,
               COALESCE((SELECT SUM(e.amount_kobo) FROM ledger_entries e
                         WHERE e.credit_account_id = a.id), 0)
             - COALESCE((SELECT SUM(e.amount_kobo) FROM ledger_entries e
                         WHERE e.debit_account_id = a.id), 0) AS reserved
        FROM clients c
        LEFT JOIN ledger_accounts a ON a.code = 'client\\:' || c.id::text || '\\:reserved'
    ), held AS (
        SELECT client_id, SUM(total_kobo) AS held FROM payments
        WHERE funding_method = 'balance'
          AND status IN ('pending', 'processing', 'refunding', 'needs_review')
        GROUP BY client_id
    )
    SELECT r.client_id::text, r.reserved, COALESCE(h.held, 0)
    FROM reserved r LEFT JOIN held h ON h.client_id = r.client_id
    WHERE r.reserved <> COALESCE(h.held, 0)
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
    negative: list[tuple[str, int]] = field(default_factory=list)
    out_of_step: list[tuple[str, int, int]] = field(default_factory=list)
    reserved_mismatch: list[tuple[str, int, int]] = field(default_factory=list)
    undrained: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.negative
            and not self.out_of_step
            and not self.reserved_mismatch
            and not self.undrained
        )

    def lines(self) -> list[str]:
        lines = [
            f"merchant balance {code} is negative: {kobo} kobo" for code, kobo in self.negative
        ]
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
        negative=await repo.negative_guarded(session),
        out_of_step=await repo.guarded_out_of_step(session),
        reserved_mismatch=[(c, int(r), int(h)) for c, r, h in reserved.all()],
        undrained=[(p, int(n)) for p, n in undrained.all()],
    )
