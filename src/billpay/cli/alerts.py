"""``billpay alerts``: the operator alert incidents, open first, with how operators were told."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from billpay.cli import runtime

# Imported in the body: `billpay --help` and the other commands load no ORM for this.
if TYPE_CHECKING:
    from billpay.alerts.schemas import AlertList
    from billpay.state import AppState

console = Console()
notices = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command()(alerts)


def alerts(
    open_only: Annotated[bool, typer.Option("--open", help="only the open incidents")] = False,
    hours: Annotated[
        float, typer.Option(help="resolved incidents this recent are listed too", min=0.01)
    ] = 24 * 7,
    evaluate: Annotated[
        bool, typer.Option(help="evaluate the alert rules now (as the worker does) first")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the incidents as JSON")] = False,
) -> None:
    """Alert incidents: provider failure/unknown rates, breakers, stuck and needs-review
    payments, webhook backlog, low provider floats. Open ones first."""
    from datetime import timedelta

    from billpay.alerts import service
    from billpay.alerts.jobs import evaluate_now

    async def main(state: AppState) -> AlertList:
        if evaluate:
            await evaluate_now(state)
        async with state.unit_of_work() as session:
            return await service.list_alerts(
                session, include_resolved=not open_only, resolved_within=timedelta(hours=hours)
            )

    listed = runtime.run_with_state(notices, main)
    if as_json:
        sys.stdout.write(listed.model_dump_json() + "\n")
        return
    if not listed.data:
        console.print("no alerts")
        return
    table = Table("id", "state", "alert", "about", "summary", "opened", "resolved", "told")
    for alert in listed.data:
        told = ", ".join(
            f"{d.event_type.removeprefix('alert.')} {d.channel} {d.status}"
            for d in alert.deliveries
        )
        table.add_row(
            str(alert.id),
            alert.state.value,
            alert.kind.value,
            alert.subject,
            alert.summary,
            alert.opened_at.isoformat(timespec="seconds"),
            alert.resolved_at.isoformat(timespec="seconds") if alert.resolved_at else "",
            told,
        )
    console.print(table)
