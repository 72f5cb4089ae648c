"""The Stellar side: the system account's cNGN on Horizon against the ledger's view
(``billpay stellar check``), and every incoming payment Horizon shows in the window against
the deposits the watcher recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from billpay.db.context import JobContext
from billpay.funding.stellar.check import check_balance
from billpay.funding.stellar.config import StellarConfig
from billpay.funding.stellar.horizon import HorizonClient, HorizonUnavailableError
from billpay.funding.stellar.records import DepositRecord, Incoming, classify_record
from billpay.reconciliation import repository as repo
from billpay.reconciliation.schemas import Discrepancy, Side, SideReport

PAGE = 200
MAX_PAGES = 100  # 20,000 payment records a run at most


async def compare_with_stellar(context: JobContext) -> SideReport:
    report = SideReport(side=Side.STELLAR, checked=0)
    config = StellarConfig.from_settings(context.settings)
    if config is None:
        report.notes.append("Stellar is not configured: nothing to compare")
        return report
    await _compare_balance(context, report)
    await _compare_deposits(context, config, report)
    return report


async def _compare_balance(context: JobContext, report: SideReport) -> None:
    try:
        balance = await check_balance(context)
    except HorizonUnavailableError as exc:
        report.notes.append(f"balance not compared: {exc}")
        return
    report.checked += 1
    if balance.ok:
        return
    report.discrepancies.append(
        Discrepancy(
            side=Side.STELLAR,
            kind="stellar_balance_mismatch",
            message=(
                f"{balance.account} holds {balance.on_chain_stroops} stroops of "
                f"{balance.asset} on the network; the ledger says {balance.expected_stroops}"
            ),
            evidence={
                "account": balance.account,
                "asset": balance.asset,
                "on_chain_stroops": balance.on_chain_stroops,
                "ledger_stroops": balance.expected_stroops,
                "ledger_kobo": balance.ledger_kobo,
                "difference_stroops": balance.difference_stroops,
                "refunds_in_flight": [
                    {"refund_id": i, "amount_kobo": kobo, "tx_hash": tx}
                    for i, kobo, tx in balance.in_flight
                ],
            },
        )
    )


async def _compare_deposits(context: JobContext, config: StellarConfig, report: SideReport) -> None:
    settings = context.settings
    now = datetime.now(UTC)
    since = now - timedelta(hours=settings.reconcile_window_hours)
    settled_before = now - timedelta(seconds=settings.reconcile_stellar_grace_seconds)
    try:
        incoming = await _incoming_since(config, since)
    except HorizonUnavailableError as exc:
        report.notes.append(f"deposits not compared: {exc}")
        return
    judged = [d for d in incoming if d.created_at <= settled_before]
    async with context.unit_of_work() as session:
        recorded = await repo.recorded_operations(session, {d.operation_id for d in judged})
    report.checked += len(judged)
    for deposit in judged:
        if deposit.operation_id in recorded:
            continue
        asset = "XLM" if deposit.asset.is_native else f"{deposit.asset.code}"
        report.discrepancies.append(
            Discrepancy(
                side=Side.STELLAR,
                kind="deposit_not_recorded",
                message=(
                    f"Horizon shows a payment of {deposit.amount} {asset} to {config.account} "
                    f"(op {deposit.operation_id}) that billpay never recorded"
                ),
                evidence={
                    "operation_id": deposit.operation_id,
                    "tx_hash": deposit.transaction_hash,
                    "from": deposit.from_account,
                    "amount": deposit.amount,
                    "asset_code": deposit.asset.code,
                    "asset_issuer": deposit.asset.issuer,
                    "memo": deposit.memo,
                    "created_at": deposit.created_at.isoformat(),
                },
            )
        )


async def _incoming_since(config: StellarConfig, since: datetime) -> list[DepositRecord]:
    """Successful incoming payments to the system account since ``since``, newest first."""
    found: list[DepositRecord] = []
    cursor: str | None = None
    async with HorizonClient(config.horizon_url) as horizon:
        for _ in range(MAX_PAGES):
            records = await horizon.payments_page(config.account, cursor=cursor, limit=PAGE)
            for record in records:
                if _created_at(record) < since:
                    return found
                classified = classify_record(record, config.account)
                if isinstance(classified, Incoming) and classified.deposit.successful:
                    found.append(classified.deposit)
            if len(records) < PAGE:
                return found
            cursor = str(records[-1]["paging_token"])
    return found


def _created_at(record: object) -> datetime:
    """When the network applied the record; an unreadable one counts as now (kept)."""
    text = record.get("created_at") if isinstance(record, dict) else None
    try:
        return datetime.fromisoformat(str(text)) if text else datetime.now(UTC)
    except ValueError:
        return datetime.now(UTC)
