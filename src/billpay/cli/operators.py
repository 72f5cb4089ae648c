"""``billpay operators add|list|rotate``: operators with tokens of their own; and how ``up``
and ``api`` check operator access before they start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.table import Table

# Imported in the bodies: `billpay --help` and the other commands load no ORM for these.
if TYPE_CHECKING:
    from billpay.state import AppState

T = TypeVar("T")
ADMIN_TOKEN_ENV = "BILLPAY_ADMIN_TOKEN"  # noqa: S105 (the variable's name, not a value)

operators_app = typer.Typer(help="Operators of the dashboard and /v1/ops, each with a token.")
console = Console()
errors = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.add_typer(operators_app, name="operators")


def _refuse(message: str) -> None:
    errors.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)


def check_operator_settings() -> None:
    """Refuse to start, in one line, when operator access is misconfigured (a weak token)."""
    from billpay.ops.settings import OperatorSettingsError, get_ops_settings

    try:
        get_ops_settings()
    except OperatorSettingsError as exc:
        _refuse(str(exc))
        raise typer.Exit(2) from None


def prepare_admin_token(data_dir: Path) -> Path | None:
    """``up``: the admin's token from the environment, or kept in the data folder."""
    from billpay.ops.settings import OperatorSettingsError, ensure_admin_token

    check_operator_settings()
    try:
        return ensure_admin_token(data_dir)
    except OperatorSettingsError as exc:
        _refuse(str(exc))
        raise typer.Exit(2) from None


def sign_in_hint(base_url: str, token_file: Path | None) -> str:
    """How to sign in to the dashboard, for ``up``'s banner (never the token itself)."""
    from billpay.ops.settings import get_ops_settings

    name = get_ops_settings().admin_name
    where = f"the token in {token_file}" if token_file else f"${ADMIN_TOKEN_ENV}"
    return f"  operator dashboard: {base_url}/dashboard  (sign in as [bold]{name}[/] with {where})"


def _admin_name() -> str:
    from billpay.ops.settings import get_ops_settings

    return get_ops_settings().admin_name


def _print_token(verb: str, name: str, token: str) -> None:
    console.print(f"operator {name} {verb}; their token (shown once, stored only hashed):")
    console.print(token, markup=False, highlight=False)


@operators_app.command("add")
def add(name: str) -> None:
    """Add an operator and print their token (shown once)."""
    from billpay.operators import service

    async def main(state: AppState) -> str:
        async with state.unit_of_work() as session:
            return await service.add(session, name, _admin_name())

    _print_token("added", name, _run(main))


@operators_app.command("rotate")
def rotate(name: str) -> None:
    """Give an operator a new token (printed once); the old one and their sessions end."""
    from billpay.operators import service

    check_operator_settings()
    if name == _admin_name():
        _refuse(
            f"{name}'s token is {ADMIN_TOKEN_ENV} (or the data folder's admin-token file "
            "under 'billpay up'): change it there and restart"
        )
        raise typer.Exit(2)

    async def main(state: AppState) -> str:
        async with state.unit_of_work() as session:
            return await service.rotate(session, name)

    _print_token("rotated", name, _run(main))


@operators_app.command("list")
def list_operators() -> None:
    """Every operator, where their token comes from, and their live dashboard sessions."""
    from billpay.operators import service
    from billpay.ops.settings import get_ops_settings

    async def main(state: AppState) -> None:
        settings = get_ops_settings()
        async with state.unit_of_work() as session:
            rows = await service.listing(session)
            admin_sessions = await service.live_sessions_of(session, settings.admin_name)
        table = Table("name", "token", "created", "rotated", "live sessions")
        if settings.admin_secret():
            table.add_row(settings.admin_name, ADMIN_TOKEN_ENV, "", "", str(admin_sessions))
        for row in rows:
            table.add_row(
                row.name,
                "billpay operators",
                row.created_at.isoformat(timespec="seconds"),
                row.rotated_at.isoformat(timespec="seconds") if row.rotated_at else "",
                str(row.live_sessions),
            )
        console.print(table)

    _run(main)


def _run(work: Callable[[AppState], Awaitable[T]]) -> T:
    """A refusal (a taken name, an unknown operator) is one line on stderr and exit 1."""
    from billpay.cli import runtime

    check_operator_settings()
    return runtime.run_with_state(console, work)
