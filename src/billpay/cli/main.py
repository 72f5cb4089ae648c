"""``billpay`` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import enum
import uuid
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from billpay.cli import alerts, api_keys, books, operators, providers, runtime
from billpay.cli.chaos import chaos
from billpay.cli.failures import USAGE, Cli, CommandFailed, options
from billpay.money import format_naira

# Commands import what they use in their bodies: `billpay --help` loads no web framework,
# ORM or Stellar SDK, and each command only its own.
if TYPE_CHECKING:
    from billpay.state import AppState

app = Cli(
    help="billpay: Nigerian bill payments that are never lost, never vended twice.",
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database commands.")
clients_app = typer.Typer(help="Merchants (API clients).")
payments_app = typer.Typer(help="Inspect and resolve payments.")
catalog_app = typer.Typer(help="The product catalog.")
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")
app.add_typer(payments_app, name="payments")
app.add_typer(catalog_app, name="catalog")
books.register(app)  # reconcile, statement, ledger adjust
operators.register(app)  # operators add, list, rotate
api_keys.register(app)  # api-keys create, list, revoke
alerts.register(app)  # alerts
providers.register(app)  # providers list, disable, enable
app.command("chaos")(chaos)

console = Console()


@app.callback()
def global_options(
    debug: Annotated[bool, typer.Option(help="Show tracebacks of failures")] = False,
    verbose: Annotated[bool, typer.Option(help="Show library and progress logs")] = False,
) -> None:
    """billpay: Nigerian bill payments that are never lost, never vended twice.

    A failure is one line on stderr and a non-zero exit: 1 refused or impossible (an unknown
    id, a bad amount, nothing listening), 2 a usage or configuration mistake; `billpay pay`
    adds 3 rejected, 4 refunded, 5 still pending, 6 needs review.
    """
    options.debug = debug
    options.verbose = verbose


@app.command()
def up(
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Provider simulators' port")] = 8100,
) -> None:
    """Everything in one process: embedded Postgres, simulators, API, worker. Providers with
    no configuration of their own are pointed at the simulators; configured ones are kept."""
    from billpay.config import get_settings

    settings = get_settings().model_copy(
        # Local development: webhooks may go to a receiver on this machine over plain http.
        update={"api_port": port, "sandbox_port": sandbox_port, "allow_private_webhook_urls": True}
    )
    # Refusals first, before anything starts or is printed: a taken port, bad operator access.
    runtime.check_ports_free(settings.api_host, {"API": port, "simulators'": sandbox_port})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    admin_token_file = operators.prepare_admin_token(settings.data_dir)
    sandbox_url = f"http://{settings.api_host}:{sandbox_port}"
    # Test keys' payments go to these simulators too, unless configured elsewhere.
    test_mode_url = settings.test_mode_sandbox_url or sandbox_url
    settings = settings.model_copy(update={"test_mode_sandbox_url": test_mode_url})
    pointed = runtime.simulated(settings, sandbox_url)
    settings, url = runtime.prepare(settings, console, sandbox_url, migrate=True)
    sandbox = runtime.start_sandbox(settings)
    note = runtime.write_up_note(settings, sandbox.url)

    async def main(state: AppState, stop: asyncio.Event) -> None:
        report = await runtime.sync_catalog(state)
        demo = await runtime.ensure_demo_client(state, settings.data_dir)
        base = f"http://{settings.api_host}:{settings.api_port}"
        console.print(f"[bold green]billpay is up[/] at {base}  (API docs: {base}/docs)")
        console.print(f"  provider simulators: {sandbox.url}   catalog: {report.plans} plans")
        if pointed.simulated:
            console.print(f"  on the simulators (not configured): {', '.join(pointed.simulated)}")
        if pointed.kept:
            console.print(f"  on their own configuration: {', '.join(pointed.kept)}")
        console.print(f"  demo API key: [bold]{demo.api_key}[/]")
        console.print(f"  demo balance: {format_naira(demo.balance_kobo)}")
        console.print(operators.sign_in_hint(base, admin_token_file))
        console.print(
            f"  try: billpay pay --api {base} --key <key> --plan mtn-airtime "
            "--customer 08011111111 --amount 50000"
        )
        await runtime.serve_api_and_worker(state, stop)

    try:
        runtime.run_in_state(settings, url, lambda state: runtime.serve_until_stopped(state, main))
    finally:
        note.unlink(missing_ok=True)
        sandbox.stop()


@app.command()
def api() -> None:
    """Run the HTTP API only (the schema must be current: `billpay db upgrade`)."""
    runtime.defer_garbage_collection()  # a restart is back sooner (runtime.py)
    from billpay.config import get_settings

    settings = get_settings()
    runtime.check_ports_free(settings.api_host, {"API": settings.api_port})
    operators.check_operator_settings()
    runtime.run_service(
        console, lambda state, stop: runtime.serve_api_and_worker(state, stop, run_worker=False)
    )


@app.command()
def worker(
    sandbox_url: Annotated[
        str | None, typer.Option(help="Route unconfigured providers to simulators here")
    ] = None,
) -> None:
    """Run a worker: claims due payments and talks to providers."""
    runtime.defer_garbage_collection()  # a restart is back sooner (runtime.py)
    from billpay.worker.runner import Worker

    runtime.run_service(console, lambda state, stop: Worker(state).run(stop), sandbox_url)


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
    from billpay.config import get_settings

    runtime.prepare(get_settings(), console, migrate=True)
    console.print("[green]database is at the latest migration[/]")


@clients_app.command("create")
def clients_create(
    name: str,
    webhook_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a merchant and print its API key (shown once)."""
    from billpay.clients.service import create_client

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            client, key = await create_client(session, name, webhook_url)
        console.print(f"client {client.id}\nAPI key (shown once): [bold]{key}[/]")

    runtime.run_with_state(console, main)


@clients_app.command("topup")
def clients_topup(client_id: uuid.UUID, amount_kobo: int) -> None:
    """Credit a merchant's prepaid balance (kobo)."""
    from billpay.clients.service import top_up

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            balance = await top_up(session, client_id, amount_kobo, "cli top-up")
        console.print(f"available balance: {format_naira(balance)}")

    runtime.run_with_state(console, main)


@catalog_app.command("sync")
def catalog_sync(
    sandbox_url: Annotated[
        str | None,
        typer.Option(help="Simulators for unconfigured providers (default: those of `up`)"),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Allow deactivating half the catalog or more")
    ] = False,
) -> None:
    """Pull every configured provider's catalog into biller_plans. Under a running
    `billpay up` the providers are those `up` uses, simulators included."""
    from rich.progress import Progress

    async def main(state: AppState) -> None:
        from billpay.catalog.service import active_plans, sync

        if not state.providers:
            raise CommandFailed(
                "no provider is configured (VTPASS_*, FLUTTERWAVE_*, INTERSWITCH_*): nothing "
                "to sync from; under `billpay up` its simulators are used, or pass --sandbox-url"
            )
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("syncing catalogs", total=len(state.providers))
            async with state.unit_of_work() as session:
                before = len(await active_plans(session))
                report = await sync(
                    session,
                    state.providers,
                    on_provider_done=lambda *_: progress.advance(task),
                    list_prices=state.settings.plan_prices,
                )
                if before and report.deactivated * 2 >= before and not force:
                    # Raised inside the unit of work: it rolls back, the catalog is untouched.
                    raise CommandFailed(
                        f"refusing to deactivate {report.deactivated} of {before} active plans "
                        f"(the providers listed {report.plans}: {report.per_provider}); "
                        "nothing was changed; --force to do it anyway"
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
    funding: Annotated[str, typer.Option(help="balance, stellar or paystack")] = "balance",
    horizon: Annotated[
        str, typer.Option(help="Horizon simulator the payer uses with --funding stellar")
    ] = "http://127.0.0.1:8100/horizon",
    email: Annotated[
        str | None, typer.Option(help="the payer's email (--funding paystack needs it)")
    ] = None,
) -> None:
    """A small client: create a payment over the API and follow it to its outcome. With
    ``--funding stellar`` it also plays the payer, paying the instructions on the simulator;
    with ``--funding paystack`` it prints the checkout link for the payer.

    Exit status: 0 paid, 1 the API unreachable or failing, 3 rejected (refused, failed or
    expired: nothing charged), 4 refunded, 5 still pending after --wait, 6 needs review."""
    from billpay.cli.client import pay_and_follow

    # The exit status says how it ended (README): 0 paid, 3 rejected, 4 refunded, 5 pending…
    raise typer.Exit(
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
                email=email,
            )
        )
    )


@payments_app.command("list")
def payments_list(
    status: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 20,
) -> None:
    """Recent payments (all clients)."""
    from billpay.payments.service import list_page

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
    from billpay.payments.service import operator_detail

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:  # unknown id: one line on stderr, exit 1
            detail = await operator_detail(session, payment_id)
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


class ResolveOutcome(enum.StrEnum):
    PAID = "paid"
    REFUND = "refund"


@payments_app.command("resolve")
def payments_resolve(
    payment_id: uuid.UUID,
    outcome: Annotated[ResolveOutcome, typer.Option(help="what the evidence shows")],
    reason: Annotated[str, typer.Option(help="what the operator verified")],
    operator: Annotated[str, typer.Option()] = "operator",
) -> None:
    """Resolve a needs_review payment with the evidence you checked."""
    from billpay.payments.review import resolve

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            status = await resolve(session, payment_id, outcome.value, reason, operator)
        console.print(f"payment {payment_id} is now {status}")

    runtime.run_with_state(console, main)


E = TypeVar("E", bound=enum.StrEnum)


def _choice(kind: type[E], value: str | None, option: str) -> E | None:
    """``value`` as one of ``kind``'s members; a usage error naming the choices otherwise."""
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise CommandFailed(f"{option}: {value!r} is not one of {choices}", USAGE) from None


webhooks_app = typer.Typer(help="The outbox: client webhooks and payer notifications.")
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("list")
def webhooks_list(
    payment_id: Annotated[uuid.UUID | None, typer.Option()] = None,
    status: Annotated[
        str | None, typer.Option(help="pending, delivered or failed", show_default=False)
    ] = None,
    channel: Annotated[str, typer.Option(help="webhook, email or sms")] = "webhook",
    limit: Annotated[int, typer.Option()] = 20,
) -> None:
    """Recent deliveries (all clients), newest first, with their tries."""
    from billpay.outbox import service as outbox
    from billpay.outbox.schemas import Channel, DeliveryStatus

    wanted_status = _choice(DeliveryStatus, status, "--status")
    wanted_channel = _choice(Channel, channel, "--channel") or Channel.WEBHOOK

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:
            page = await outbox.list_deliveries(
                session,
                client_id=None,
                channel=wanted_channel,
                payment_id=payment_id,
                status=wanted_status,
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
                str(message.payment_id or f"alert {message.alert_id}"),
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
    from billpay.outbox import service as outbox

    async def main(state: AppState) -> None:
        async with state.unit_of_work() as session:  # unknown id: one line on stderr, exit 1
            message, _ = await outbox.replay(session, delivery_id)
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
    runtime.defer_garbage_collection()  # a restart is back sooner (runtime.py)
    from billpay.funding.stellar.watcher import run_watcher

    runtime.run_service(
        console, lambda state, stop: run_watcher(state, stop, start_cursor=start), sandbox_url
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
