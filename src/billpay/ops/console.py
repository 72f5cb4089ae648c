"""``billpay stats``: the operator figures as rich tables (the same ones ``/v1/ops`` serves)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from billpay.ops.schemas import (
    OpsStats,
    ProviderHealth,
    ProviderPerformance,
    ProvidersReport,
    StuckReport,
)
from billpay.ops.service import OpsReport

HEALTH_STYLE = {"healthy": "green", "degraded": "yellow", "failing": "red", "idle": "dim"}


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _minutes(seconds: float | None) -> str:
    return "none" if seconds is None else f"{seconds / 60:,.1f} min"


def print_stats(console: Console, report: OpsReport) -> None:
    stats, ledger = report.stats, report.ledger
    console.print(
        f"[bold]Payments since {stats.since:%Y-%m-%d %H:%M} UTC[/] ({stats.total_payments})"
    )
    console.print(_status_table(stats))
    console.print(_bill_type_table(stats))
    console.print(_provider_table(report.providers))
    console.print(_stuck_line(report.stuck))
    console.print("[green]ledger OK[/]" if ledger.ok else "[red]ledger has discrepancies[/]")
    if not ledger.ok:
        for line in ledger.lines:
            console.print(f"  {line}")


def _status_table(stats: OpsStats) -> Table:
    table = Table("status", "payments", title="By status")
    for status, count in stats.payments_by_status.items():
        table.add_row(status, str(count))
    return table


def _bill_type_table(stats: OpsStats) -> Table:
    table = Table(
        "bill type",
        "total",
        "paid",
        "not delivered",
        "in review",
        "in progress",
        "expired",
        "success rate",
        title="Success rate by bill type",
    )
    for row in stats.by_bill_type:
        table.add_row(
            row.bill_type,
            str(row.total),
            str(row.paid),
            str(row.failed),
            str(row.needs_review),
            str(row.in_progress),
            str(row.expired),
            _percent(row.success_rate),
        )
    return table


def _provider_table(report: ProvidersReport) -> Table:
    table = Table(
        "provider",
        "attempts",
        "succeeded",
        "failed",
        "unknown",
        "success rate",
        "p50",
        "p95",
        f"health ({report.health_minutes:g} min)",
        title="Providers",
    )
    performance = {p.provider: p for p in report.performance}
    health = {h.provider: h for h in report.health}
    for name in sorted(performance.keys() | health.keys()):
        table.add_row(
            name, *_performance_cells(performance.get(name)), _health_cell(health.get(name))
        )
    return table


def _performance_cells(p: ProviderPerformance | None) -> list[str]:
    if p is None:
        return ["0", "0", "0", "0", "—", "—", "—"]
    counts = (p.attempts, p.succeeded, p.failed, p.unknown)
    return [
        *map(str, counts),
        _percent(p.success_rate),
        _ms(p.latency_p50_ms),
        _ms(p.latency_p95_ms),
    ]


def _health_cell(h: ProviderHealth | None) -> str:
    status = h.status.value if h else "idle"
    bad = _percent(h.bad_rate) if h else "—"
    return f"[{HEALTH_STYLE[status]}]{status}[/] ({bad} bad)"


def _stuck_line(stuck: StuckReport) -> str:
    groups = (stuck.processing, stuck.needs_review, stuck.refunding)
    parts = [
        f"{g.count} {g.status}"
        + (f" > {g.older_than_minutes:g} min" if g.older_than_minutes is not None else "")
        for g in groups
    ]
    return (
        f"stuck: {', '.join(parts)}; oldest unresolved: {_minutes(stuck.oldest_unresolved_seconds)}"
    )
