"""``billpay providers list|disable|enable``: each provider's shared health and breaker, and
operators' switches that take a provider (or a provider for one biller) out of routing."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from billpay.cli import runtime

# Imported in the bodies: `billpay --help` and the other commands load no ORM for these.
if TYPE_CHECKING:
    from billpay.routing.health import ProviderHealth
    from billpay.routing.repository import SwitchRow
    from billpay.state import AppState

providers_app = typer.Typer(help="Provider health, breakers and run-time switches.")
console = Console()

BillerOption = Annotated[
    str | None, typer.Option("--biller", help="Only for this biller (e.g. mtn, dstv)")
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept with the change)")]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who is switching (default: cli:<your login>)")
]


def register(app: typer.Typer) -> None:
    app.add_typer(providers_app, name="providers")


@providers_app.command("list")
def list_providers(
    minutes: Annotated[float, typer.Option(min=1, help="Health window in minutes")] = 15,
) -> None:
    """Each provider, and provider×biller, as every worker routes by it."""
    from datetime import timedelta

    from billpay.routing.health import provider_health

    async def main(state: AppState) -> list[ProviderHealth]:
        async with state.unit_of_work() as session:
            return await provider_health(session, window=timedelta(minutes=minutes))

    table = Table("provider", "biller", "attempts", "success", "failed", "unknown", "p50 ms")
    table.add_column("breaker")
    table.add_column("switch")
    for row in runtime.run_with_state(console, main):
        breaker = row.breaker_state
        if row.breaker_reason and row.breaker_state != "closed":
            breaker += f": {row.breaker_reason}"
        table.add_row(
            row.provider,
            row.biller or "(all)",
            str(row.attempts),
            _percent(row.success_rate),
            _percent(row.failure_rate),
            _percent(row.unknown_rate),
            "" if row.latency_p50_ms is None else f"{row.latency_p50_ms:.0f}",
            breaker,
            row.disabled_reason or "on",
        )
    console.print(table)


@providers_app.command("disable")
def disable(
    provider: str, reason: ReasonOption, biller: BillerOption = None, actor: ActorOption = None
) -> None:
    """Send no new purchase to the provider (for every biller, or one); workers honour it
    within seconds. Payments already with it are still requeried and settled."""
    _switch(provider, enabled=False, reason=reason, biller=biller, actor=actor)


@providers_app.command("enable")
def enable(
    provider: str,
    reason: Annotated[str, typer.Option("--reason", help="Why")] = "enabled again",
    biller: BillerOption = None,
    actor: ActorOption = None,
) -> None:
    """Route purchases to the provider (for every biller, or one) again."""
    _switch(provider, enabled=True, reason=reason, biller=biller, actor=actor)


def _switch(
    provider: str, *, enabled: bool, reason: str, biller: str | None, actor: str | None
) -> None:
    from billpay.routing import switches

    who = actor or f"cli:{getpass.getuser()}"

    async def main(state: AppState) -> SwitchRow:
        async with state.unit_of_work() as session:
            return await switches.switch(
                session, provider, enabled=enabled, actor=who, reason=reason, biller=biller
            )

    row = runtime.run_with_state(console, main)
    where = f" for {row.biller}" if row.biller else ""
    verb = "enabled" if row.enabled else "disabled"
    console.print(f"{row.provider} {verb}{where} by {row.actor}: {row.reason}", markup=False)


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f} %"
