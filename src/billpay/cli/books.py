"""The books from the command line: ``reconcile``, ``ledger adjust``, ``statement``."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from billpay.cli import runtime

# Imported in the bodies: `billpay --help` and the other commands load no ORM for these.
if TYPE_CHECKING:
    from billpay.errors import ApiError
    from billpay.reconciliation.schemas import Adjustment, ReconciliationReport
    from billpay.state import AppState

console = Console()
# Progress and errors: stdout carries only the report, the JSON or the CSV.
notices = Console(stderr=True)
ledger_app = typer.Typer(help="Operator corrections to the ledger.")


def register(app: typer.Typer) -> None:
    app.command()(reconcile)
    app.command()(statement)
    app.add_typer(ledger_app, name="ledger")


def reconcile(
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    ledger_only: Annotated[
        bool, typer.Option(help="only the ledger: no provider lookups, no Horizon")
    ] = False,
    sandbox_url: Annotated[
        str | None, typer.Option(help="Route unconfigured providers to simulators here")
    ] = None,
) -> None:
    """Prove the books: the ledger against itself, each provider's answer for recent
    references, the Stellar account against the ledger. Recorded; exit 1 on any discrepancy."""
    from billpay.reconciliation import service
    from billpay.reconciliation.schemas import Side

    sides = frozenset({Side.LEDGER}) if ledger_only else frozenset(Side)

    async def main(state: AppState) -> tuple[int, ReconciliationReport]:
        return await service.reconcile_and_record(state, "cli", sides=sides)

    run_id, report = runtime.run_with_state(notices, main, sandbox_url)
    if as_json:
        sys.stdout.write(json.dumps({"run_id": run_id, **report.model_dump(mode="json")}) + "\n")
    else:
        print_report(run_id, report)
    if not report.ok:
        raise typer.Exit(1)


def print_report(run_id: int, report: ReconciliationReport) -> None:
    sides = Table("side", "checked", "discrepancies", "notes", title=f"reconciliation {run_id}")
    for side in report.sides:
        sides.add_row(
            side.side.value, str(side.checked), str(len(side.discrepancies)), "\n".join(side.notes)
        )
    console.print(sides)
    if report.discrepancies:
        found = Table("side", "kind", "what", "evidence", title="discrepancies")
        for d in report.discrepancies:
            evidence = ", ".join(f"{k}={v}" for k, v in d.evidence.items() if v is not None)
            found.add_row(d.side.value, d.kind, d.message, evidence)
        console.print(found)
    verdict = "[green]books reconcile[/]" if report.ok else "[red]books have discrepancies[/]"
    console.print(
        f"{verdict}: {report.payments_checked} payments checked in {report.seconds:.2f} s"
    )


@ledger_app.command("adjust")
def adjust(
    debit: Annotated[str, typer.Option(help="account the amount leaves (its code)")],
    credit: Annotated[str, typer.Option(help="account the amount enters (its code)")],
    amount: Annotated[int, typer.Option(help="kobo")],
    reason: Annotated[str, typer.Option(help="what the entry corrects, and the evidence")],
    actor: Annotated[str, typer.Option(help="who makes it")],
    payment: Annotated[uuid.UUID | None, typer.Option(help="the payment it concerns")] = None,
) -> None:
    """Post a balanced adjusting entry (to close a discrepancy), with reason and actor.
    The other side may be ``equity:adjustments``."""
    from billpay.errors import ApiError
    from billpay.reconciliation import service
    from billpay.reconciliation.schemas import AdjustmentIn

    try:
        entry = AdjustmentIn(
            debit_account=debit,
            credit_account=credit,
            amount_kobo=amount,
            reason=reason,
            payment_id=payment,
        )
    except ValueError as exc:
        notices.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc

    async def main(state: AppState) -> Adjustment | ApiError:
        try:
            async with state.unit_of_work() as session:
                return await service.adjust(session, entry, actor)
        except ApiError as exc:
            return exc

    made = runtime.run_with_state(notices, main)
    if isinstance(made, ApiError):
        notices.print(f"[red]{made.message}[/]")
        raise typer.Exit(1)
    console.print(
        f"adjustment {made.id}: {made.amount_kobo} kobo {made.debit_account} → "
        f"{made.credit_account} (journal {made.journal_id})"
    )


def statement(
    provider: Annotated[str, typer.Option(help="vtpass, flutterwave or interswitch")],
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="first day")],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="last day")],
    output: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
) -> None:
    """The CSV to match against a provider's settlement statement (days in Lagos time)."""
    from billpay.errors import ApiError
    from billpay.reconciliation import service

    async def main(state: AppState) -> str | ApiError:
        try:
            async with state.unit_of_work() as session:
                return await service.statement_csv(session, provider, start.date(), end.date())
        except ApiError as exc:
            return exc

    written = runtime.run_with_state(notices, main)
    if isinstance(written, ApiError):
        notices.print(f"[red]{written.message}[/]")
        raise typer.Exit(1)
    if output is None:
        sys.stdout.write(written)
        return
    output.write_text(written, encoding="utf-8")
    notices.print(f"{written.count(chr(10)) - 1} rows written to {output}")
