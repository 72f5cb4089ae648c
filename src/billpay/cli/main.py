"""``billpay`` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from billpay.cli import runtime
from billpay.clients.service import create_client, top_up
from billpay.config import get_settings
from billpay.db.migrate import upgrade
from billpay.errors import ApiError, NotFound
from billpay.money import format_naira
from billpay.ops.settings import ensure_admin_token
from billpay.outbox import service as outbox
from billpay.outbox.schemas import Channel, DeliveryStatus
from billpay.payments.service import list_page, operator_detail
from billpay.state import AppState

app = typer.Typer(help="billpay: Nigerian bill payments that are never lost, never vended twice.")
db_app = typer.Typer(help="Database commands.")
clients_app = typer.Typer(help="Merchants (API clients).")
payments_app = typer.Typer(help="Inspect and resolve payments.")
catalog_app = typer.Typer(help="The product catalog.")
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")
app.add_typer(payments_app, name="payments")
app.add_typer(catalog_app, name="catalog")

console = Console()


@app.command()
def up(
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Provider simulators' port")] = 8100,
) -> None:
    """Everything in one process: embedded Postgres, simulators, API, worker."""
    runtime.exit_cleanly_on_sigterm()
    settings, url = runtime.prepare(get_settings(), console)
    settings = settings.model_copy(update={"api_port": port, "sandbox_port": sandbox_port})
    generated_token = ensure_admin_token()
    sandbox = runtime.start_sandbox(settings)
    settings = runtime.with_sandbox(settings, sandbox.url)

    async def main(state: AppState) -> None:
        report = await runtime.sync_catalog(state)
        demo = await runtime.ensure_demo_client(state, settings.data_dir)
        base = f"http://{settings.api_host}:{settings.api_port}"
        console.print(f"[bold green]billpay is up[/] at {base}  (API docs: {base}/docs)")
        console.print(f"  provider simulators: {sandbox.url}   catalog: {report.plans} plans")
        console.print(f"  demo API key: [bold]{demo.api_key}[/]")
        console.print(f"  demo balance: {format_naira(demo.balance_kobo)}")
        console.print(f"  operator dashboard: {base}/dashboard")
        console.print(f"  admin token: [bold]{generated_token or '$BILLPAY_ADMIN_TOKEN'}[/]")
        console.print(
            f"  try: billpay pay --api {base} --key <key> --plan mtn-airtime "
            "--customer 08011111111 --amount 50000"
        )
        await runtime.serve_api_and_worker(state)

    try:
        runtime.run_in_state(settings, url, main)
    finally:
        sandbox.stop()


@app.command()
def api() -> None:
    """Run the HTTP API only."""
    runtime.run_with_state(
        console, lambda state: runtime.serve_api_and_worker(state, run_worker=False)
    )


@app.command()
def worker(
    sandbox_url: Annotated[
        str | None, typer.Option(help="Route unconfigured providers to simulators here")
    ] = None,
) -> None:
    """Run a worker: claims due payments and talks to providers."""
    from billpay.worker.runner import Worker

    runtime.run_with_state(console, lambda state: Worker(state).run(asyncio.Event()), sandbox_url)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option()] = 8100,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
) -> None:
    """Run the provider simulators only."""
    import uvicorn

    from billpay.sandbox.app import create_sandbox_app

    console.print(f"provider simulators on http://{host}:{port}")
    uvicorn.run(create_sandbox_app(), host=host, port=port, log_level="warning")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations."""
    settings = get_settings()
    url = runtime.database_url(settings, console)
    upgrade(url)
    console.print("[green]database is at the latest migration[/]")


@clients_app.command("create")
def clients_create(
    name: str,
    webhook_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a merchant and print its API key (shown once)."""

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            client, key = await create_client(session, name, webhook_url)
        console.print(f"client {client.id}\nAPI key (shown once): [bold]{key}[/]")

    runtime.run_with_state(console, main)


@clients_app.command("topup")
def clients_topup(client_id: uuid.UUID, amount_kobo: int) -> None:
    """Credit a merchant's prepaid balance (kobo)."""

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            balance = await top_up(session, client_id, amount_kobo, "cli top-up")
        console.print(f"available balance: {format_naira(balance)}")

    runtime.run_with_state(console, main)


@catalog_app.command("sync")
def catalog_sync(
    sandbox_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Pull every configured provider's catalog into biller_plans."""
    from rich.progress import Progress

    async def main(state: AppState) -> None:
        from billpay.catalog.service import sync

        with Progress(console=console) as progress:
            task = progress.add_task("syncing catalogs", total=len(state.providers))
            async with state.unit_of_work() as session:
                report = await sync(
                    session,
                    state.providers,
                    on_provider_done=lambda *_: progress.advance(task),
                )
        console.print(
            f"{report.plans} plans ({report.per_provider}); deactivated {report.deactivated}"
        )
        if report.failed_providers:
            console.print(f"[yellow]failed: {report.failed_providers}[/]")

    runtime.run_with_state(console, main, sandbox_url)


@app.command()
def pay(
    plan: Annotated[str, typer.Option()],
    customer: Annotated[str, typer.Option()],
    key: Annotated[str, typer.Option(envvar="BILLPAY_API_KEY")],
    api: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
    amount: Annotated[int | None, typer.Option(help="kobo")] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    reference: Annotated[str | None, typer.Option()] = None,
    wait: Annotated[float, typer.Option(help="seconds to wait for a final status")] = 30.0,
    funding: Annotated[str, typer.Option(help="balance or stellar")] = "balance",
    horizon: Annotated[
        str, typer.Option(help="Horizon simulator the payer uses with --funding stellar")
    ] = "http://127.0.0.1:8100/horizon",
) -> None:
    """A small client: create a payment over the API and follow it to its outcome. With
    ``--funding stellar`` it also plays the payer, paying the instructions on the simulator."""
    from billpay.cli.client import pay_and_follow

    asyncio.run(
        pay_and_follow(
            console,
            api,
            key,
            plan,
            customer,
            amount,
            phone,
            reference or uuid.uuid4().hex,
            wait,
            funding=funding,
            horizon=horizon,
        )
    )


@payments_app.command("list")
def payments_list(
    status: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 20,
) -> None:
    """Recent payments (all clients)."""

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            page = await list_page(session, None, limit=limit, status=status)
        table = Table("id", "reference", "status", "plan", "total", "provider", "created")
        for p in page.payments:
            table.add_row(
                str(p.id),
                p.request_reference,
                p.status,
                p.plan,
                format_naira(p.total_kobo),
                p.provider or "",
                p.created_at.isoformat(timespec="seconds"),
            )
        console.print(table)

    runtime.run_with_state(console, main)


@payments_app.command("show")
def payments_show(payment_id: uuid.UUID) -> None:
    """A payment with its attempts and events (provider payloads are stored masked)."""

    async def main(state: AppState) -> None:
        try:
            async with state.unit_of_work() as session:
                detail = await operator_detail(session, payment_id)
        except NotFound as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(1) from exc
        payment = detail.payment
        console.print(
            f"[bold]{payment.id}[/] {payment.status}  {payment.plan}  "
            f"{payment.customer_id}  {format_naira(payment.total_kobo)}"
        )
        attempts_table = Table("#", "provider", "reference", "outcome", "status", "why chosen")
        for a in detail.attempts:
            attempts_table.add_row(
                str(a.number),
                a.provider,
                a.provider_reference,
                a.outcome,
                a.provider_status or "",
                a.route_reason,
            )
        console.print(attempts_table)
        events_table = Table("at", "from", "to", "reason", "actor")
        for e in detail.events:
            events_table.add_row(
                e.at.isoformat(timespec="seconds"),
                e.from_status or "",
                e.to_status,
                e.reason,
                e.actor,
            )
        console.print(events_table)

    runtime.run_with_state(console, main)


@payments_app.command("resolve")
def payments_resolve(
    payment_id: uuid.UUID,
    outcome: Annotated[str, typer.Option(help="paid or refund")],
    reason: Annotated[str, typer.Option(help="what the operator verified")],
    operator: Annotated[str, typer.Option()] = "operator",
) -> None:
    """Resolve a needs_review payment with the evidence you checked."""
    from billpay.payments.review import resolve

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            status = await resolve(session, payment_id, outcome, reason, operator)
        console.print(f"payment {payment_id} is now {status}")

    runtime.run_with_state(console, main)


@app.command()
def reconcile() -> None:
    """Prove the ledger: balanced, stored balances match entries, clearing accounts drain."""
    from billpay.ledger.reconcile import reconcile as run_reconcile

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            report = await run_reconcile(session)
        for line in report.lines():
            console.print(line)
        if not report.ok:
            raise typer.Exit(1)

    runtime.run_with_state(console, main)


webhooks_app = typer.Typer(help="The outbox: client webhooks and payer notifications.")
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("list")
def webhooks_list(
    payment_id: Annotated[uuid.UUID | None, typer.Option()] = None,
    status: Annotated[DeliveryStatus | None, typer.Option()] = None,
    channel: Annotated[Channel, typer.Option()] = Channel.WEBHOOK,
    limit: Annotated[int, typer.Option()] = 20,
) -> None:
    """Recent deliveries (all clients), newest first, with their tries."""

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            page = await outbox.list_deliveries(
                session,
                client_id=None,
                channel=channel,
                payment_id=payment_id,
                status=status,
                limit=limit,
            )
        table = Table("id", "event", "type", "payment", "status", "tries", "last", "next try")
        for message in page.messages:
            tries = page.attempts[message.id]
            last = tries[-1] if tries else None
            table.add_row(
                str(message.id),
                f"evt_{message.event_id}",
                message.event_type,
                str(message.payment_id),
                message.status,
                str(len(tries)),
                (last.error or str(last.status_code)) if last else "",
                message.next_attempt_at.isoformat(timespec="seconds")
                if message.next_attempt_at
                else "",
            )
        console.print(table)

    runtime.run_with_state(console, main)


@webhooks_app.command("replay")
def webhooks_replay(delivery_id: int) -> None:
    """Send a delivery again: the same event id and body, with a fresh signature."""

    async def main(state: AppState) -> None:
        try:
            async with state.unit_of_work() as session:
                message, _ = await outbox.replay(session, delivery_id)
        except ApiError as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(1) from exc
        console.print(f"{message.channel} {message.id} (evt_{message.event_id}) is queued")

    runtime.run_with_state(console, main)


@app.command()
def stats(
    window_hours: Annotated[float, typer.Option(help="payments created this recently")] = 24,
    health_minutes: Annotated[float, typer.Option(help="provider health window")] = 15,
) -> None:
    """Payments by status, success rates by bill type and provider, health, stuck, ledger."""
    from datetime import timedelta

    from billpay.ops import service as ops
    from billpay.ops.console import print_stats

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            report = await ops.report(
                session,
                timedelta(hours=window_hours),
                timedelta(minutes=health_minutes),
                [name.value for name in state.providers],
            )
        print_stats(console, report)

    runtime.run_with_state(console, main)


@app.command()
def watch(
    sandbox_url: Annotated[
        str | None, typer.Option(help="Use the Horizon simulator of the sandbox here")
    ] = None,
    start: Annotated[
        str, typer.Option(help="Where a first start begins: now, 0 (all history) or a token")
    ] = "now",
) -> None:
    """Run the Stellar deposit watcher (one per system account; others wait on a lock)."""
    from billpay.funding.stellar.watcher import run_watcher

    runtime.run_with_state(
        console,
        lambda state: run_watcher(state, asyncio.Event(), start_cursor=start),
        sandbox_url,
    )


stellar_app = typer.Typer(help="cNGN on Stellar.")
app.add_typer(stellar_app, name="stellar")


@stellar_app.command("check")
def stellar_check(
    sandbox_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """The system account's on-chain cNGN balance against the ledger's view."""
    from billpay.funding.stellar.check import StellarNotConfiguredError, check_balance

    async def main(state: AppState) -> bool:
        try:
            result = await check_balance(state)
        except StellarNotConfiguredError as exc:
            console.print(f"[red]{exc}[/]")
            return False
        for line in result.lines():
            console.print(line)
        return result.ok

    if not runtime.run_with_state(console, main, sandbox_url):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
