"""``billpay api-keys create|list|revoke --client ID``: a merchant's keys, for an operator."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from billpay.cli import runtime

# Imported in the bodies: `billpay --help` and the other commands load no ORM for these.
if TYPE_CHECKING:
    from billpay.models import ApiKey
    from billpay.state import AppState

api_keys_app = typer.Typer(help="A merchant's API keys: rotate without downtime, revoke.")
console = Console()

ClientOption = Annotated[uuid.UUID, typer.Option("--client", help="The merchant's client id")]


def register(app: typer.Typer) -> None:
    app.add_typer(api_keys_app, name="api-keys")


@api_keys_app.command("create")
def create(
    client: ClientOption,
    name: Annotated[str, typer.Option(help="What the key is for")] = "cli",
    test: Annotated[bool, typer.Option("--test", help="A bp_test_ key (test mode)")] = False,
) -> None:
    """Create another key for the merchant and print it (shown once)."""
    from billpay.clients import keys

    async def main(state: AppState) -> tuple[ApiKey, str]:
        async with state.unit_of_work() as session:
            return await keys.create_key(session, client, name, livemode=not test)

    row, key = runtime.run_with_state(console, main)
    mode = "live" if row.livemode else "test"
    console.print(f"{mode} API key {row.id} for client {row.client_id} (shown once):")
    console.print(key, markup=False, highlight=False)


@api_keys_app.command("list")
def list_keys(client: ClientOption) -> None:
    """The merchant's live and test keys, revoked ones included."""
    from billpay.clients import keys

    async def main(state: AppState) -> list[ApiKey]:
        async with state.unit_of_work() as session:
            return await keys.list_keys(session, client)

    table = Table("id", "prefix", "name", "mode", "client", "created", "last used", "revoked")
    for row in runtime.run_with_state(console, main):
        table.add_row(
            str(row.id),
            row.prefix + "…",
            row.name,
            "live" if row.livemode else "test",
            str(row.client_id),
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "",
            f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
        )
    console.print(table)


@api_keys_app.command("revoke")
def revoke(
    client: ClientOption,
    key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id (from `list`)")],
    force: Annotated[
        bool, typer.Option(help="Revoke even the merchant's last active live key")
    ] = False,
) -> None:
    """Revoke a key: every billpay process refuses it at once."""
    from billpay.clients import keys

    async def main(state: AppState) -> ApiKey:
        async with state.unit_of_work() as session:
            return await keys.revoke_key(session, client, key_id, force=force)

    row = runtime.run_with_state(console, main)
    console.print(f"revoked {row.prefix}… ({row.name})")
