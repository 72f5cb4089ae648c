"""Run the soak: a fresh database, the simulators in this process, billpay's API, two workers
and the deposit watcher as real processes; payments go in while faults, kills and
connection cuts come at random (seeded); then everything settles and is judged."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from stellar_sdk import Keypair

from billpay.chaos.checks import FINAL, Verdict, judge
from billpay.chaos.fleet import BILLPAY, Fleet, Member, process_env
from billpay.chaos.scenarios import (
    Funding,
    Sandboxes,
    Scenario,
    arm_shared_faults,
    arm_targeted_faults,
    new_scenario,
)
from billpay.db.engine import asyncpg_dsn
from billpay.funding.stellar.payer import pay_instructions
from billpay.funding.stellar.states import OPEN_REFUNDS
from billpay.sandbox.app import (
    VTPASS_WEBHOOK_TOKEN,
    create_sandbox_app,
    sandbox_horizon_state,
    sandbox_settings,
)
from billpay.sandbox.flutterwave.state import FlutterwaveSandboxState
from billpay.sandbox.horizon.faults import FaultSettings
from billpay.sandbox.interswitch.state import InterswitchSandboxState
from billpay.sandbox.paystack.state import PaystackSandboxState
from billpay.sandbox.server import ThreadedServer, free_port
from billpay.sandbox.vtpass.state import SandboxOptions, VTpassSandboxState

DEADLINE_SECONDS = 120  # a payment still unknown this long after creation goes to review
SETTLE_GRACE_SECONDS = 240  # after the deadline, how long the soak waits for the last ones
CREATE_PATIENCE_SECONDS = 300.0  # how long a merchant keeps retrying one create
MIN_CHAOS_SECONDS = 30.0  # a short run's load ends fast: the chaos goes on at least this long


@dataclass
class Options:
    payments: int
    seed: int
    database_url: str
    concurrency: int = 8
    kill_every_seconds: float = 3.0
    out: Path | None = None


@dataclass
class Tally:
    faults: Counter[str] = field(default_factory=Counter)
    db_cuts: int = 0
    stream_drops: int = 0
    forgeries_refused: int = 0
    forgeries_accepted: int = 0
    storm_webhooks: int = 0
    create_retries: int = 0
    creates_unanswered: int = 0
    duplicate_creates: int = 0
    payer_gave_up: int = 0  # a Stellar payer's wallet call failed: that deposit is not judged
    duplicates_doubled: int = 0  # one request reference sent twice at once made two payments


class MerchantInbox:
    """The merchant's webhook endpoint: keeps every body it receives."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/hook", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        try:
            self.bodies.append(json.loads(await request.body()))
        except ValueError:
            return Response(status_code=400)
        return Response(status_code=200)


class Soak:
    def __init__(self, options: Options, work_dir: Path) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.work_dir = work_dir
        self.tally = Tally()
        self.vtpass = VTpassSandboxState(options=SandboxOptions())
        self.interswitch = InterswitchSandboxState()
        self.flutterwave = FlutterwaveSandboxState()
        self.paystack = PaystackSandboxState()
        self.horizon = sandbox_horizon_state()
        self.sandboxes = Sandboxes(self.vtpass, self.interswitch, self.flutterwave)
        self.merchant = MerchantInbox()
        self.stellar_payers: dict[str, str] = {}
        self.checkouts: dict[str, str] = {}
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.fleet = Fleet()
        self.loading = True

    # --- setting up -------------------------------------------------------------------------

    def settings_env(self, sandbox_url: str) -> dict[str, str]:
        env = {key.upper(): str(value) for key, value in sandbox_settings(sandbox_url).items()}
        env.update(
            {
                "DATABASE_URL": self.options.database_url,
                "BILLPAY_API_PORT": str(self.api_port),
                "BILLPAY_LOG_LEVEL": "WARNING",
                "BILLPAY_DB_POOL_SIZE": "6",
                "BILLPAY_ALLOW_PRIVATE_WEBHOOK_URLS": "true",
                "PROVIDER_TIMEOUT_SECONDS": "2",
                "BILL_PROCESSOR_POLL_INTERVAL_SECONDS": "0.5",
                "BILL_PROCESSOR_PERIODIC_SECONDS": "1",
                "BILL_PROCESSOR_LEASE_SECONDS": "6",
                "BILL_PROCESSOR_RETRY_SCHEDULE": "[0.5, 1, 2, 3]",
                "BILL_PROCESSOR_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
                "BILL_PROCESSOR_CONCURRENCY": "16",
                "BILLPAY_RESEND_GRACE_SECONDS": "3",
                "BILLPAY_BREAKER_COOLDOWN_SECONDS": "2",
                "BILLPAY_OUTBOX_CONCURRENCY": "8",
                "BILLPAY_REVERSAL_WATCH_INTERVAL_SECONDS": "5",
                "BILLPAY_REVERSAL_WATCH_BATCH": "50",
                # A payer who gave up: the payment expires before the soak ends.
                "STELLAR_PAYMENT_EXPIRY_SECONDS": "240",
            }
        )
        return env

    def run_once(self, env: dict[str, str], *args: str) -> str:
        """Run one ``billpay`` command to completion; its output (raises with it on failure)."""
        done = subprocess.run([BILLPAY, *args], env=env, capture_output=True, text=True)
        with (self.work_dir / "setup.log").open("a") as log:
            log.write(f"$ billpay {' '.join(args)}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            raise RuntimeError(f"billpay {' '.join(args)} failed: {done.stderr or done.stdout}")
        return done.stdout

    def prepare(self, env: dict[str, str], merchant_url: str) -> str:
        """Schema, catalog and a funded merchant, set up as an operator would; the merchant's
        API key."""
        self.run_once(env, "db", "upgrade")
        self.run_once(env, "catalog", "sync")
        created = self.run_once(
            env, "clients", "create", "chaos-merchant", "--webhook-url", merchant_url
        )
        client_id, key = _client_and_key_in(created)
        self.run_once(env, "clients", "topup", client_id, str(self.options.payments * 2_000_000))
        return key

    # --- the load ---------------------------------------------------------------------------

    async def create(self, api: httpx.AsyncClient, scenario: Scenario) -> dict[str, Any] | None:
        """POST the payment until the API answers it (kills and cuts answer 503 or nothing);
        the same request reference every time, so a retry never makes a second payment."""
        gives_up = time.monotonic() + CREATE_PATIENCE_SECONDS
        while time.monotonic() < gives_up:
            try:
                response = await api.post("/v1/payments", json=scenario.body)
            except httpx.TransportError:
                self.tally.create_retries += 1
                await asyncio.sleep(0.5)
                continue
            if response.status_code in (200, 201):
                payment: dict[str, Any] = response.json()
                return payment
            if response.status_code >= 500:
                self.tally.create_retries += 1
                await asyncio.sleep(0.5)
                continue
            raise RuntimeError(
                f"payment {scenario.number} refused: {response.status_code} {response.text}"
            )
        self.tally.creates_unanswered += 1
        return None

    async def fund(
        self, payer: httpx.AsyncClient, scenario: Scenario, payment: dict[str, Any]
    ) -> None:
        instructions = payment.get("funding_instructions") or {}
        reference = scenario.body["request_reference"]
        if scenario.funding is Funding.PAYSTACK:
            await self._pay_checkout(payer, instructions["reference"])
            self.checkouts[reference] = instructions["reference"]
        elif scenario.funding is Funding.STELLAR:
            asked = dict(instructions)
            if scenario.stellar_shortfall:
                half = Decimal(asked["amount"]) / 2  # cNGN has 7 decimals on Stellar
                asked["amount"] = str(half.quantize(Decimal("0.0000001")))
            try:
                tx_hash = await pay_instructions(f"{payer.base_url}horizon", asked)
            except Exception:  # the payer's wallet gave up (the machine is busy)
                # Whether or not it landed, billpay must settle it; it is just not judged here.
                self.tally.payer_gave_up += 1
                return
            self.stellar_payers[reference] = await self._payer_of(tx_hash)

    async def _pay_checkout(self, payer: httpx.AsyncClient, paystack_reference: str) -> None:
        """The payer pays the checkout; a lost answer is tried again, and a refusal after a
        lost answer means the first try was taken."""
        for tries in range(1, 6):
            try:
                response = await payer.post(
                    f"/paystack/_sandbox/checkout/{paystack_reference}/pay",
                    json={"outcome": "success"},
                )
            except httpx.TransportError:
                await asyncio.sleep(0.5)
                continue
            if response.status_code < 300 or (tries > 1 and response.status_code < 500):
                return
            response.raise_for_status()
        raise RuntimeError(f"the payer could not pay checkout {paystack_reference}")

    async def _payer_of(self, tx_hash: str) -> str:
        stored = self.horizon.transaction(tx_hash)
        if stored is None:
            raise RuntimeError(f"Horizon has no transaction {tx_hash}")
        return str(stored.body["source_account"])

    async def load(self, api: httpx.AsyncClient, payer: httpx.AsyncClient) -> None:
        queue: asyncio.Queue[Scenario] = asyncio.Queue()
        for number in range(self.options.payments):
            queue.put_nowait(new_scenario(number, self.rng))

        async def lane() -> None:
            while not queue.empty():
                scenario = queue.get_nowait()
                arm_targeted_faults(scenario, self.sandboxes, self.rng)
                self.tally.faults.update(scenario.faults)
                if scenario.sent_twice:
                    self.tally.duplicate_creates += 1
                    payment, again = await asyncio.gather(
                        self.create(api, scenario), self.create(api, scenario)
                    )
                    if payment and again and payment["id"] != again["id"]:
                        self.tally.duplicates_doubled += 1
                else:
                    payment = await self.create(api, scenario)
                if payment is not None:
                    await self.fund(payer, scenario, payment)

        await asyncio.gather(*(lane() for _ in range(self.options.concurrency)))
        self.loading = False

    # --- the chaos --------------------------------------------------------------------------

    async def chaos(self, api: httpx.AsyncClient) -> None:
        ends_no_sooner = time.monotonic() + MIN_CHAOS_SECONDS
        deck: list[str] = []
        while self.loading or time.monotonic() < ends_no_sooner:
            await asyncio.sleep(self.rng.uniform(0.3, self.options.kill_every_seconds))
            if not deck:
                deck = self.shuffled_deck()
            await self.strike(deck.pop(), api)
            self.fleet.revive_dead()  # a member that died by itself is restarted too

    def shuffled_deck(self) -> list[str]:
        """Every kind of chaos in each deal (kills twice), in a seeded order: even a short run
        meets each of them, however few rounds the machine's speed leaves it."""
        deck = ["kill", "kill", "cut", "stream", "faults", "storm"]
        self.rng.shuffle(deck)
        return deck

    async def strike(self, kind: str, api: httpx.AsyncClient) -> None:
        if kind == "kill":
            victims = self.rng.sample(sorted(self.fleet.members), k=self.rng.choice((1, 1, 2)))
            for victim in victims:
                self.fleet.kill(victim)
            await asyncio.sleep(self.rng.uniform(0.2, 1.5))
            self.fleet.revive_dead()
        elif kind == "cut":
            await self.cut_database()
        elif kind == "stream":
            self.horizon.faults.arm(FaultSettings(stream_drop_after_events=self.rng.randint(0, 3)))
            self.horizon.end_streams()
            self.tally.stream_drops += 1
        elif kind == "faults":
            self.tally.faults[arm_shared_faults(self.sandboxes, self.rng)] += 1
        else:
            await self.webhook_storm(api)

    async def cut_database(self) -> None:
        """Terminate every connection to the soak's database but this one."""
        connection = await asyncpg.connect(asyncpg_dsn(self.options.database_url))
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await connection.close()
        self.tally.db_cuts += 1

    async def webhook_storm(self, api: httpx.AsyncClient) -> None:
        """Forged webhooks (must be refused, change nothing) and a storm of duplicate genuine
        hints (each a reason to requery, never a state change by itself)."""
        references = [vend.request_id for vend in self.vtpass.vends()[-20:]]
        forged = [
            api.post("/v1/webhooks/vtpass/not-the-token", json=_vtpass_update(ref))
            for ref in references[:3]
        ] + [
            api.post(
                "/v1/webhooks/paystack",
                content=json.dumps({"event": "charge.success", "data": {"reference": ref}}),
                headers={"content-type": "application/json", "x-paystack-signature": "0" * 128},
            )
            for ref in list(self.checkouts.values())[-3:]
        ]
        genuine = [
            api.post(f"/v1/webhooks/vtpass/{VTPASS_WEBHOOK_TOKEN}", json=_vtpass_update(ref))
            for ref in references
            for _ in range(3)
        ]
        results = await asyncio.gather(*forged, *genuine, return_exceptions=True)
        for result in results[: len(forged)]:
            if isinstance(result, httpx.Response) and result.status_code < 500:
                if result.status_code < 300:
                    self.tally.forgeries_accepted += 1
                else:
                    self.tally.forgeries_refused += 1
        self.tally.storm_webhooks += len(genuine)

    # --- the end ----------------------------------------------------------------------------

    async def settle(self, system_account: str) -> dict[str, int]:
        """Wait until every payment is final or in review, every refund sent, every merchant
        webhook delivered, every reversal the simulators made noticed and every deposit read
        by the watcher; what was still outstanding when that never happened (empty: settled).

        The patience grows with the run: a long run leaves a longer webhook backlog."""
        patience = DEADLINE_SECONDS + SETTLE_GRACE_SECONDS + self.options.payments / 20
        deadline = time.monotonic() + patience
        connection = await asyncpg.connect(asyncpg_dsn(self.options.database_url))
        try:
            while True:
                self.fleet.revive_dead()
                outstanding = await self._outstanding(connection, system_account)
                if not outstanding or time.monotonic() >= deadline:
                    return outstanding
                await asyncio.sleep(1)
        finally:
            await connection.close()

    async def _outstanding(self, connection: asyncpg.Connection, account: str) -> dict[str, int]:
        reversed_references = [vend.request_id for vend in self.vtpass.vends() if vend.reversed]
        counts = await connection.fetchrow(
            "SELECT"
            " (SELECT count(*) FROM payments WHERE status <> ALL($1::text[])) AS open_payments,"
            " (SELECT count(*) FROM stellar_refunds WHERE status = ANY($2::text[]))"
            "   AS open_refunds,"
            " (SELECT count(*) FROM outbox_messages WHERE channel = 'webhook'"
            "   AND status = 'pending') AS pending_webhooks,"
            # The attempt that paid: a vend reversed before billpay read it is a failure it
            # saw (VTpass's documented "reversed"), and the payment may be paid elsewhere.
            " (SELECT count(*) FROM payments p JOIN payment_attempts a ON a.payment_id = p.id"
            "   WHERE p.status = 'paid' AND a.provider = 'vtpass' AND a.outcome = 'succeeded'"
            "   AND a.provider_reference = ANY($3::text[])) AS unnoticed_reversals",
            list(FINAL),
            list(OPEN_REFUNDS),
            reversed_references,
        )
        if counts is None:
            raise RuntimeError("the settle query returned no row")
        outstanding = {name: int(count) for name, count in counts.items() if count}
        unread = await self._unread_payments(connection, account)
        if unread:
            outstanding["payments_the_watcher_has_not_read"] = unread
        return outstanding

    async def _unread_payments(self, connection: asyncpg.Connection, account: str) -> int:
        """How many of the account's payments lie past the watcher's stored cursor: a deposit
        it has not read yet is not judged as lost (one it skipped still is: the cursor passed
        it)."""
        cursor = await connection.fetchval(
            "SELECT paging_token FROM stellar_cursors WHERE account = $1", account
        )
        after = int(cursor) if cursor is not None else None
        return len(self.horizon.payments(account_id=account, cursor=after, limit=200))

    def reconcile(self, env: dict[str, str]) -> tuple[bool, int]:
        result = subprocess.run(
            [BILLPAY, "reconcile", "--json"], env=env, capture_output=True, text=True
        )
        if result.returncode == 2 and "--json" in result.stderr:
            result = subprocess.run([BILLPAY, "reconcile"], env=env, capture_output=True, text=True)
        (self.work_dir / "reconcile.out").write_text(result.stdout + result.stderr)
        return result.returncode == 0, _discrepancies_in(result.stdout, result.returncode)

    async def run(self) -> tuple[Verdict, bool, int]:
        sandbox_app = create_sandbox_app(
            vtpass=self.vtpass,
            interswitch=self.interswitch,
            flutterwave=self.flutterwave,
            paystack=self.paystack,
            horizon=self.horizon,
        )
        sandbox = ThreadedServer(sandbox_app).start()
        merchant = ThreadedServer(self.merchant.app).start()
        # uvicorn configures its loggers as each server starts. A provider call the soak
        # times out leaves a simulator's handler talking to nobody: not worth a traceback.
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        try:
            env = process_env(self.settings_env(sandbox.url))
            self.vtpass.options.callback_url = (
                f"{self.api_url}/v1/webhooks/vtpass/{VTPASS_WEBHOOK_TOKEN}"
            )
            self.flutterwave.webhook_url = f"{self.api_url}/v1/webhooks/flutterwave"
            self.paystack.webhooks.webhook_url = f"{self.api_url}/v1/webhooks/paystack"
            self.paystack.webhooks.webhook_max_attempts = 10
            self.paystack.webhooks.webhook_retry_delay_seconds = 1.0
            self.paystack.faults.refund_auto_advance_after = 1
            key = await asyncio.to_thread(self.prepare, env, f"{merchant.url}/hook")
            for name, args in (
                ("api", ["api"]),
                ("worker-1", ["worker"]),
                ("worker-2", ["worker"]),
                ("watcher", ["watch", "--start", "0"]),
            ):
                self.fleet.add(Member(name, args, env, self.work_dir))
            self.fleet.start_all()
            async with AsyncExitStack() as stack:
                api = await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=self.api_url,
                        headers={"authorization": f"Bearer {key}"},
                        timeout=30,
                        trust_env=False,
                    )
                )
                payer = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=f"{sandbox.url}/", timeout=30, trust_env=False)
                )
                await _wait_for(api)
                await asyncio.gather(self.load(api, payer), self.chaos(api))
                outstanding = await self.settle(_system_account(sandbox.url))
            (self.work_dir / "merchant-webhooks.json").write_text(json.dumps(self.merchant.bodies))
            connection = await asyncpg.connect(asyncpg_dsn(self.options.database_url))
            try:
                verdict = await judge(
                    connection,
                    self.sandboxes,
                    self.paystack,
                    self.horizon,
                    _system_account(sandbox.url),
                    self.stellar_payers,
                    self.checkouts,
                    self.merchant.bodies,
                )
            finally:
                await connection.close()
            if outstanding:
                verdict.problem(f"the soak never settled; still outstanding: {outstanding}")
            if self.tally.duplicates_doubled:
                verdict.problem(f"{self.tally.duplicates_doubled} duplicate creates paid twice")
            if self.tally.creates_unanswered:
                verdict.problem(
                    f"{self.tally.creates_unanswered} creates went unanswered for "
                    f"{CREATE_PATIENCE_SECONDS:.0f} s"
                )
            clean, discrepancies = self.reconcile(env)
            return verdict, clean, discrepancies
        finally:
            self.fleet.stop_all()
            merchant.stop()
            sandbox.stop()


def _system_account(sandbox_url: str) -> str:
    secret = str(sandbox_settings(sandbox_url)["stellar_system_secret"])
    return Keypair.from_secret(secret).public_key


def _vtpass_update(request_id: str) -> dict[str, Any]:
    return {
        "type": "transaction-update",
        "data": {"requestId": request_id, "content": {"transactions": {"status": "delivered"}}},
    }


def _client_and_key_in(output: str) -> tuple[str, str]:
    """The client id and API key ``billpay clients create`` printed."""
    words = [word.strip(".,;:'\"()") for word in output.split()]
    ids = [word for word in words if _is_uuid(word)]
    keys = [word for word in words if word.startswith("bp_") and len(word) > 16]
    if not ids or not keys:
        raise RuntimeError(f"no client id and key in `billpay clients create` output: {output!r}")
    return ids[0], keys[0]


def _is_uuid(word: str) -> bool:
    try:
        uuid.UUID(word)
    except ValueError:
        return False
    return True


def _discrepancies_in(stdout: str, returncode: int) -> int:
    try:
        report = json.loads(stdout)
    except ValueError:
        return 0 if returncode == 0 else 1
    found = report.get("discrepancies") if isinstance(report, dict) else None
    return len(found) if isinstance(found, list) else (0 if returncode == 0 else 1)


async def _wait_for(api: httpx.AsyncClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if (await api.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("billpay's API did not come up")
        await asyncio.sleep(0.2)


def fresh_database(server_url: str) -> str:
    """A new, empty database on ``server_url``'s server; its URL."""
    name = f"billpay_chaos_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        connection = await asyncpg.connect(asyncpg_dsn(server_url))
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database

    async def drop() -> None:
        connection = await asyncpg.connect(asyncpg_dsn(server_url))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="billpay-chaos-"))
