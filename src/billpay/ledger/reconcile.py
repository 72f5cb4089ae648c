"""The ledger proves itself (DESIGN §1.6): set-based checks over every journal, account and
payment, each finding named by its kind and carrying its evidence.

The checks are written over account *kinds*, not a list of accounts, so a new funding source
or revenue account is covered the day it posts:

- every journal balances (credits − debits over its legs is zero);
- guarded balances (merchants' available) are never negative and equal their entries;
- every clearing account (a merchant's reserved, a funding source's held) holds exactly what
  the payments still using it hold — a finished payment leaves nothing behind but the money
  an open refund is still returning — and no money sits there attached to no payment;
- every paid payment has its vend posting (and its fee posting when it charged a fee);
  every refunded payment its refund posting, and, if the money went back over Stellar or
  Paystack, the on-chain hash or Paystack refund id that proves it;
- every Stellar deposit of cNGN was credited to the books;
- every account that names an owner (a client, a provider, a funding method) names one
  that exists.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.ledger import repository as repo
from billpay.money import format_naira
from billpay.payments.schemas import FundingMethod
from billpay.providers.base import ProviderName

# Clearing accounts by kind: money passes through them and must drain.
CLEARING_PATTERNS = ("client:%:reserved", "funding:%:held")
# A finished payment holds nothing but what its open refunds are still returning.
FINAL_STATUSES = ("paid", "refunded", "failed", "expired")


@dataclass(frozen=True)
class StellarAssetKey:
    """The cNGN asset: only its refunds return money that is in the NGN books."""

    code: str
    issuer: str


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    evidence: dict[str, Any]


_OPEN_REFUNDS = """
    open_refunds AS (
        SELECT payment_id, SUM(amount_kobo) AS kobo FROM (
            SELECT payment_id, amount_kobo FROM stellar_refunds
            -- a quarantined refund's money stays held only for its payment's review (a
            -- closing refund); any other moved to funding:stellar:quarantined (accounts.py)
            WHERE (status IN ('queued', 'submitting')
                   OR (status = 'quarantined' AND closes_payment))
              AND asset_code IS NOT DISTINCT FROM COALESCE(CAST(:cngn_code AS text), asset_code)
              AND asset_code IS NOT NULL
              AND asset_issuer IS NOT DISTINCT FROM
                  COALESCE(CAST(:cngn_issuer AS text), asset_issuer)
            UNION ALL
            SELECT payment_id, amount_kobo FROM paystack_refunds
            WHERE status <> 'processed'  -- until processed, the money is still here…
              -- …unless a late collection's refund failed: then it is in suspense
              AND NOT (cause = 'late' AND status IN ('failed', 'needs-attention', 'rejected'))
        ) r GROUP BY payment_id
    )"""

_CLEARING_NETS = """
    clearing AS (
        SELECT id, code FROM ledger_accounts
        WHERE code LIKE ANY (CAST(:clearing AS text[]))
    ), legs AS (
        SELECT e.payment_id, e.credit_account_id AS account_id, e.amount_kobo AS kobo
        FROM ledger_entries e WHERE e.credit_account_id IN (SELECT id FROM clearing)
        UNION ALL
        SELECT e.payment_id, e.debit_account_id, -e.amount_kobo
        FROM ledger_entries e WHERE e.debit_account_id IN (SELECT id FROM clearing)
    ), nets AS (
        SELECT l.payment_id, c.code, SUM(l.kobo) AS net
        FROM legs l JOIN clearing c ON c.id = l.account_id GROUP BY l.payment_id, c.code
    )"""

# Both holding checks read the same two sets: computed once per run, dropped at commit.
_MATERIALIZE = (
    text("DROP TABLE IF EXISTS pg_temp.reconcile_open_refunds, pg_temp.reconcile_nets"),
    text(
        f"""CREATE TEMP TABLE reconcile_open_refunds ON COMMIT DROP AS
        WITH {_OPEN_REFUNDS} SELECT * FROM open_refunds"""  # noqa: S608 -- constant fragments
    ),
    text(
        f"""CREATE TEMP TABLE reconcile_nets ON COMMIT DROP AS
        WITH {_CLEARING_NETS} SELECT * FROM nets"""  # noqa: S608 -- constant fragments
    ),
)
_FROM_MATERIALIZED = """
    open_refunds AS (SELECT * FROM reconcile_open_refunds),
    nets AS (SELECT * FROM reconcile_nets)"""

# Per payment: what it holds on each clearing account against what it should hold.
_HOLDINGS = text(
    f"""
    WITH {_FROM_MATERIALIZED},
    payments_holding AS (
        SELECT p.id, p.status, p.total_kobo, COALESCE(r.kobo, 0) AS refunding_kobo,
               CASE WHEN p.funding_method = 'balance'
                    THEN 'client:' || p.client_id::text || '\\:reserved'
                    ELSE 'funding:' || p.funding_method || '\\:held' END AS holding
        FROM payments p LEFT JOIN open_refunds r ON r.payment_id = p.id
        WHERE p.status <> 'refunding'
    ), judged AS (
        SELECT h.id, h.status, COALESCE(n.code, h.holding) AS code,
               COALESCE(n.net, 0) AS net,
               CASE WHEN COALESCE(n.code, h.holding) <> h.holding THEN 0
                    WHEN h.status IN ('pending', 'processing')
                    THEN h.total_kobo + h.refunding_kobo
                    ELSE h.refunding_kobo END AS expected,
               -- in review after an unknown vend (money held) or a refund that stalled
               h.status = 'needs_review' AND COALESCE(n.code, h.holding) = h.holding
                   AND COALESCE(n.net, 0) = h.total_kobo + h.refunding_kobo AS review_holding
        FROM payments_holding h
        LEFT JOIN nets n ON n.payment_id = h.id
    )
    SELECT id::text, status, code, net, expected FROM judged
    WHERE net <> expected AND NOT review_holding
    ORDER BY id
    """  # noqa: S608 -- built from this module's constant fragments only
)

# Money on a clearing account attached to no payment (or to one that does not exist): only
# Stellar deposits that named no payment may sit there, while their refund is open.
_UNATTACHED = text(
    f"""
    WITH {_FROM_MATERIALIZED},
    unattached AS (
        SELECT n.code, SUM(n.net) AS net,
               CASE WHEN n.code = 'funding\\:stellar\\:held'
                    THEN COALESCE((SELECT kobo FROM open_refunds WHERE payment_id IS NULL), 0)
                    ELSE 0 END AS expected
        FROM nets n LEFT JOIN payments p ON p.id = n.payment_id
        WHERE p.id IS NULL
        GROUP BY n.code
    )
    SELECT code, net, expected FROM unattached WHERE net <> expected ORDER BY code
    """  # noqa: S608 -- built from this module's constant fragments only
)

# Reserved balance per client must equal amount + fee of its payments still holding money.
_RESERVED_MISMATCH = text(
    """
    WITH reserved AS (
        SELECT a.code, COALESCE(c.total, 0) - COALESCE(d.total, 0) AS reserved
        FROM ledger_accounts a
        LEFT JOIN (SELECT credit_account_id AS id, SUM(amount_kobo) AS total
                   FROM ledger_entries GROUP BY credit_account_id) c ON c.id = a.id
        LEFT JOIN (SELECT debit_account_id AS id, SUM(amount_kobo) AS total
                   FROM ledger_entries GROUP BY debit_account_id) d ON d.id = a.id
        WHERE a.code LIKE 'client:%\\:reserved'
    ), held AS (
        SELECT 'client:' || client_id::text || '\\:reserved' AS code, SUM(total_kobo) AS held
        FROM payments
        WHERE funding_method = 'balance'
          AND status IN ('pending', 'processing', 'refunding', 'needs_review')
        GROUP BY client_id
    )
    SELECT split_part(COALESCE(r.code, h.code), ':', 2), COALESCE(r.reserved, 0),
           COALESCE(h.held, 0)
    FROM reserved r FULL JOIN held h ON h.code = r.code
    WHERE COALESCE(r.reserved, 0) <> COALESCE(h.held, 0)
    ORDER BY 1
    """
)

# Every journal balances: its credit legs sum to its debit legs (one pass over the entries).
_UNBALANCED_JOURNALS = text(
    """
    SELECT journal_id::text,
           COALESCE(SUM(amount_kobo) FILTER (WHERE credit_account_id IS NOT NULL), 0)
         - COALESCE(SUM(amount_kobo) FILTER (WHERE debit_account_id IS NOT NULL), 0) AS off
    FROM ledger_entries GROUP BY journal_id
    HAVING COALESCE(SUM(amount_kobo) FILTER (WHERE credit_account_id IS NOT NULL), 0)
         <> COALESCE(SUM(amount_kobo) FILTER (WHERE debit_account_id IS NOT NULL), 0)
    """
)

# Paid: a vend posting, and a fee posting of the fee when there is one. Refunded: a refund
# posting; over Stellar a succeeded refund with its hash, over Paystack a processed refund id.
_MISSING_POSTINGS = text(
    """
    WITH kinds AS (
        SELECT payment_id,
               bool_or(kind = 'vend') AS vend,
               COALESCE(SUM(amount_kobo) FILTER (WHERE kind = 'fee'), 0) AS fee,
               bool_or(kind = 'refund') AS refund
        FROM ledger_entries WHERE payment_id IS NOT NULL GROUP BY payment_id
    ), judged AS (
        SELECT p.id, p.status, p.funding_method, p.fee_kobo,
               COALESCE(k.vend, false) AS vend, COALESCE(k.fee, 0) AS fee,
               COALESCE(k.refund, false) AS refund,
               CASE p.funding_method
                   WHEN 'stellar' THEN EXISTS (
                       SELECT 1 FROM stellar_refunds s WHERE s.payment_id = p.id
                       AND s.closes_payment AND s.status = 'succeeded' AND s.tx_hash IS NOT NULL)
                   WHEN 'paystack' THEN EXISTS (
                       SELECT 1 FROM paystack_refunds s WHERE s.payment_id = p.id
                       AND s.status = 'processed' AND s.refund_id IS NOT NULL)
                   ELSE true END AS proof
        FROM payments p LEFT JOIN kinds k ON k.payment_id = p.id
        WHERE p.status IN ('paid', 'refunded')
    )
    SELECT id::text, status, funding_method, fee_kobo, vend, fee, refund, proof FROM judged
    WHERE (status = 'paid' AND (NOT vend OR fee <> fee_kobo))
       OR (status = 'refunded' AND NOT (refund AND proof))
    ORDER BY id
    """
)

# A cNGN deposit's whole kobo enter the books when it is recorded (the payment's funds, or
# money held until it goes back): by the payment's funds_received, or one naming its op.
_UNCREDITED_DEPOSITS = text(
    """
    SELECT d.id, d.operation_id, d.tx_hash, d.amount, d.state, d.payment_id::text
    FROM stellar_deposits d
    WHERE d.asset_code = :cngn_code AND d.asset_issuer = :cngn_issuer
      AND d.amount IS NOT NULL AND floor(CAST(d.amount AS numeric) * 100) > 0
      AND NOT (d.funded_payment AND EXISTS (
            SELECT 1 FROM ledger_entries e
            WHERE e.payment_id = d.payment_id AND e.kind = 'funds_received'))
      AND NOT EXISTS (
            SELECT 1 FROM ledger_entries e
            WHERE e.kind = 'funds_received'
              AND e.memo LIKE 'stellar op ' || d.operation_id || ' %')
    ORDER BY d.id
    """
)

# Accounts that name an owner: client:<id>:…, provider:<name>:…, funding:<method>:…
_ORPHAN_ACCOUNTS = text(
    """
    SELECT a.code FROM ledger_accounts a
    WHERE (a.code LIKE 'client:%' AND NOT EXISTS (
               SELECT 1 FROM clients c WHERE c.id::text = split_part(a.code, ':', 2)))
       OR (a.code LIKE 'provider:%'
           AND split_part(a.code, ':', 2) <> ALL (CAST(:providers AS text[])))
       OR (a.code LIKE 'funding:%'
           AND split_part(a.code, ':', 2) <> ALL (CAST(:methods AS text[])))
    ORDER BY a.code
    """
)


@dataclass
class ReconcileReport:
    negative: list[tuple[str, int]] = field(default_factory=list)
    out_of_step: list[tuple[str, int, int]] = field(default_factory=list)
    reserved_mismatch: list[tuple[str, int, int]] = field(default_factory=list)
    # Finished payments that left money on a clearing account: (payment id, kobo left)
    undrained: list[tuple[str, int]] = field(default_factory=list)
    # Everything else found, by kind (unbalanced journals, missing postings, orphans, …)
    findings: list[Finding] = field(default_factory=list)
    _undrained_detail: list[Finding] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not (
            self.negative
            or self.out_of_step
            or self.reserved_mismatch
            or self.undrained
            or self.findings
        )

    def discrepancies(self) -> list[Finding]:
        """Every finding, each with its kind and evidence."""
        found = [
            Finding(
                "negative_balance",
                f"merchant balance {code} is negative: {kobo} kobo",
                {"account": code, "balance_kobo": kobo},
            )
            for code, kobo in self.negative
        ]
        found += [
            Finding(
                "stored_balance_out_of_step",
                f"account {code}: stored {stored} ≠ entries {derived}",
                {"account": code, "stored_kobo": stored, "entries_kobo": derived},
            )
            for code, stored, derived in self.out_of_step
        ]
        found += [
            Finding(
                "reserved_mismatch",
                f"client {client}: reserved {format_naira(reserved)} ≠ held {format_naira(held)}",
                {"client_id": client, "reserved_kobo": reserved, "held_kobo": held},
            )
            for client, reserved, held in self.reserved_mismatch
        ]
        return found + self._undrained_detail + self.findings

    def lines(self) -> list[str]:
        lines = [finding.message for finding in self.discrepancies()]
        lines.append("ledger OK" if self.ok else "ledger has discrepancies")
        return lines


async def reconcile(
    session: AsyncSession,
    cngn: StellarAssetKey | None = None,
    *,
    providers: Collection[str] | None = None,
    funding_methods: Collection[str] | None = None,
) -> ReconcileReport:
    """Every ledger check. ``cngn`` names the Stellar asset whose refunds are in the books
    (unset: any issued asset); ``providers``/``funding_methods`` the owners an account may
    name (unset: every provider and method billpay knows)."""
    report = ReconcileReport(
        negative=await repo.negative_guarded(session),
        out_of_step=await repo.guarded_out_of_step(session),
    )
    report.reserved_mismatch = [
        (client, int(reserved), int(held))
        for client, reserved, held in (await session.execute(_RESERVED_MISMATCH)).all()
    ]
    asset = {"cngn_code": cngn.code if cngn else None, "cngn_issuer": cngn.issuer if cngn else None}
    clearing = {"clearing": list(CLEARING_PATTERNS), **asset}
    # Whole-table aggregates: enough memory that they hash instead of spilling to disk.
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    for statement in _MATERIALIZE:
        await session.execute(statement, clearing)
    for payment_id, status, code, net, expected in (await session.execute(_HOLDINGS)).all():
        _judge_holding(report, payment_id, status, code, int(net), int(expected))
    for code, net, expected in (await session.execute(_UNATTACHED)).all():
        report.findings.append(
            Finding(
                "clearing_unattached",
                f"clearing account {code} holds {net} kobo attached to no payment "
                f"(expected {expected})",
                {"account": code, "net_kobo": int(net), "expected_kobo": int(expected)},
            )
        )
    report.findings += await _unbalanced_journals(session)
    report.findings += await _missing_postings(session)
    if cngn is not None:
        report.findings += await _uncredited_deposits(session, cngn)
    report.findings += await _orphan_accounts(session, providers, funding_methods)
    return report


def _judge_holding(
    report: ReconcileReport, payment_id: str, status: str, code: str, net: int, expected: int
) -> None:
    evidence = {
        "payment_id": payment_id,
        "status": status,
        "account": code,
        "net_kobo": net,
        "expected_kobo": expected,
    }
    if status in FINAL_STATUSES:
        report.undrained.append((payment_id, net - expected))
        report._undrained_detail.append(
            Finding(
                "clearing_not_drained",
                f"payment {payment_id} ({status}): {code} not drained ({net - expected} kobo)",
                evidence,
            )
        )
        return
    report.findings.append(
        Finding(
            "holding_mismatch",
            f"payment {payment_id} ({status}) holds {net} kobo on {code}, expected {expected}",
            evidence,
        )
    )


async def _unbalanced_journals(session: AsyncSession) -> list[Finding]:
    rows = (await session.execute(_UNBALANCED_JOURNALS)).all()
    return [
        Finding(
            "unbalanced_journal",
            f"journal {journal} does not balance: off by {int(off)} kobo",
            {"journal_id": journal, "off_kobo": int(off)},
        )
        for journal, off in rows
    ]


async def _missing_postings(session: AsyncSession) -> list[Finding]:
    found: list[Finding] = []
    for row in (await session.execute(_MISSING_POSTINGS)).all():
        payment_id, status, method, fee_kobo, vend, fee, refund, proof = row
        evidence = {"payment_id": payment_id, "status": status, "funding_method": method}
        if status == "paid" and not vend:
            found.append(
                Finding(
                    "missing_vend_posting",
                    f"paid payment {payment_id} has no vend posting",
                    evidence,
                )
            )
        if status == "paid" and int(fee) != int(fee_kobo):
            found.append(
                Finding(
                    "missing_fee_posting",
                    f"paid payment {payment_id}: fee postings {int(fee)} ≠ fee {int(fee_kobo)}",
                    {**evidence, "fee_kobo": int(fee_kobo), "posted_kobo": int(fee)},
                )
            )
        if status == "refunded" and not refund:
            found.append(
                Finding(
                    "missing_refund_posting",
                    f"refunded payment {payment_id} has no refund posting",
                    evidence,
                )
            )
        if status == "refunded" and not proof:
            proof_of = "an on-chain hash" if method == "stellar" else "a Paystack refund id"
            found.append(
                Finding(
                    "missing_refund_proof",
                    f"refunded payment {payment_id} ({method}) has no {proof_of}",
                    evidence,
                )
            )
    return found


async def _uncredited_deposits(session: AsyncSession, cngn: StellarAssetKey) -> list[Finding]:
    rows = await session.execute(
        _UNCREDITED_DEPOSITS, {"cngn_code": cngn.code, "cngn_issuer": cngn.issuer}
    )
    return [
        Finding(
            "deposit_not_credited",
            f"Stellar deposit {op} ({amount} {cngn.code}, {state}) was never credited",
            {
                "deposit_id": deposit_id,
                "operation_id": op,
                "tx_hash": tx_hash,
                "amount": amount,
                "state": state,
                "payment_id": payment_id,
            },
        )
        for deposit_id, op, tx_hash, amount, state, payment_id in rows.all()
    ]


async def _orphan_accounts(
    session: AsyncSession,
    providers: Collection[str] | None,
    funding_methods: Collection[str] | None,
) -> list[Finding]:
    rows = await session.execute(
        _ORPHAN_ACCOUNTS,
        {
            "providers": sorted(providers or [name.value for name in ProviderName]),
            "methods": sorted(funding_methods or [method.value for method in FundingMethod]),
        },
    )
    return [
        Finding(
            "orphan_account",
            f"ledger account {code} names an owner that does not exist",
            {"account": code},
        )
        for (code,) in rows.all()
    ]
