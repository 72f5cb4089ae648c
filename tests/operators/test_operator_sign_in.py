"""Operator sign-in: configured identities with tokens of their own, throttled guessing,
sessions that end on the server, Secure cookies behind a trusted TLS proxy, a closed /metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from operator_flows import ADMIN_NAME, ADMIN_TOKEN, csrf_of, dashboard, sign_in

from billpay.operators import service as operators
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, pay, query, wait_for_status

WRONG = "not-the-token-of-anyone-at-all-0123456789"
REVIEW_PHONE = "08030000003"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # A 1 s deadline sends an unresolvable payment to review quickly; VTpass alone sells.
    return {
        "payment_deadline_seconds": 1.0,
        "flutterwave_base_url": None,
        "interswitch_base_url": None,
    }


async def add_operator(state: AppState, name: str) -> str:
    async with state.unit_of_work() as session:
        return await operators.add(session, name, ADMIN_NAME)


async def test_the_sixth_wrong_token_in_a_minute_waits_even_with_the_right_one(
    state: AppState,
) -> None:
    async with dashboard(state) as client:
        for _ in range(5):
            assert (await sign_in(client, token=WRONG)).status_code == 401
        throttled = await sign_in(client)  # the right token: a throttled guess learns nothing
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        assert "Too many failed sign-ins" in throttled.text
        assert "set-cookie" not in throttled.headers


async def test_the_throttle_holds_per_operator_across_addresses_and_per_address_across_names(
    state: AppState,
) -> None:
    grace = await add_operator(state, "grace")
    async with dashboard(state, trusted_proxies="127.0.0.1") as client:

        def via(address: str) -> dict[str, str]:
            return {"x-forwarded-for": address}

        for n in range(5):  # one operator guessed at from five addresses
            assert (await sign_in(client, "grace", WRONG, via(f"203.0.113.{n}"))).status_code == 401
        assert (await sign_in(client, "grace", grace, via("203.0.113.99"))).status_code == 429
        assert (await sign_in(client, headers=via("203.0.113.99"))).status_code == 303

        for n in range(5):  # one address guessing at five names
            assert (await sign_in(client, f"op{n}", WRONG, via("198.51.100.7"))).status_code == 401
        assert (await sign_in(client, headers=via("198.51.100.7"))).status_code == 429


async def test_concurrent_guesses_cannot_outrun_the_throttle(state: AppState) -> None:
    async with dashboard(state) as client:
        answers = await asyncio.gather(*(sign_in(client, token=WRONG) for _ in range(20)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * 5 + [429] * 15


async def test_operator_api_tokens_are_throttled_per_address(state: AppState) -> None:
    async with dashboard(state) as client:
        for _ in range(5):
            wrong = await client.get("/v1/ops/stats", headers={"authorization": f"Bearer {WRONG}"})
            assert wrong.json()["error"]["code"] == "invalid_operator_token"
        right = await client.get(
            "/v1/ops/stats", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        )
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "too_many_attempts"
    assert int(right.headers["retry-after"]) >= 1


async def test_signing_out_ends_the_session_on_the_server(state: AppState) -> None:
    async with dashboard(state) as client:
        assert (await sign_in(client)).status_code == 303
        cookie = client.cookies["billpay_operator"]
        assert (await client.get("/dashboard")).status_code == 200
        signed_out = await client.post("/dashboard/logout", data={"csrf": await csrf_of(client)})
        assert signed_out.status_code == 303
        client.cookies.set("billpay_operator", cookie, domain="billpay.test", path="/dashboard")
        replayed = await client.get("/dashboard")
        assert replayed.status_code == 303  # the kept cookie opens nothing any more
        assert replayed.headers["location"].startswith("/dashboard/login")


async def test_rotating_a_token_ends_that_operators_sessions(state: AppState) -> None:
    old = await add_operator(state, "grace")
    async with dashboard(state) as client:
        assert (await sign_in(client, "grace", old)).status_code == 303
        async with state.unit_of_work() as session:
            new = await operators.rotate(session, "grace")
        assert (await client.get("/dashboard")).status_code == 303
        assert (await sign_in(client, "grace", old)).status_code == 401
        assert (await sign_in(client, "grace", new)).status_code == 303


@pytest.mark.parametrize(
    ("trusted", "headers", "secure"),
    [
        ("127.0.0.1", {"x-forwarded-proto": "https"}, True),  # behind our TLS proxy
        ("", {"x-forwarded-proto": "https"}, False),  # anyone can send the header
        ("10.0.0.0/8", {"x-forwarded-proto": "https"}, False),  # not from our proxy
        ("127.0.0.1", {}, False),  # the proxy says plain http
    ],
)
async def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(
    state: AppState, trusted: str, headers: dict[str, str], secure: bool
) -> None:
    async with dashboard(state, trusted_proxies=trusted) as client:
        response = await sign_in(client, headers=headers)
    assert response.status_code == 303
    assert ("secure" in response.headers["set-cookie"].lower().split("; ")) is secure


async def test_a_resolution_records_the_identity_that_signed_in(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    vtpass.set_faults(
        Faults(rules=[FaultRule(kind=FaultKind.PENDING_FOREVER, target=REVIEW_PHONE)])
    )
    review = await pay(api, airtime(REVIEW_PHONE))
    assert review["status"] == "needs_review"
    grace = await add_operator(state, "grace")
    async with dashboard(state) as client:
        # A name is no longer typed at will: it must be the token's own operator.
        assert (await sign_in(client, "mallory", ADMIN_TOKEN)).status_code == 401
        assert (await sign_in(client, ADMIN_NAME, grace)).status_code == 401
        assert (await sign_in(client, "grace", grace)).status_code == 303
        path = f"/dashboard/payments/{review['id']}"
        resolved = await client.post(
            f"{path}/resolve",
            data={"outcome": "paid", "reason": "VTpass shows it", "csrf": await csrf_of(client)},
        )
    assert resolved.status_code == 303
    final = await wait_for_status(api, review["id"], {"paid"})
    assert final["events"][-1]["actor"] == "operator:grace"


async def test_metrics_need_a_token(state: AppState) -> None:
    metrics_token = "prometheus-scrape-token-9f8e7d6c5b4a39281706"
    async with dashboard(state, metrics_token=metrics_token) as client:
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"authorization": f"Bearer {WRONG}"})
        scraper = await client.get("/metrics", headers={"authorization": f"Bearer {metrics_token}"})
        operator = await client.get("/metrics", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert (scraper.status_code, operator.status_code) == (200, 200)
    assert "# TYPE" in scraper.text
    async with dashboard(state, admin_token=None) as closed:
        nobody = await closed.get("/metrics", headers={"authorization": f"Bearer {WRONG}"})
    assert nobody.json()["error"]["code"] == "operator_access_disabled"


async def test_tokens_are_stored_only_as_hashes(state: AppState) -> None:
    grace = await add_operator(state, "grace")
    async with dashboard(state) as client:
        await sign_in(client, "grace", grace)
        cookie = client.cookies["billpay_operator"]
    stored = str(await query(state, "SELECT * FROM operators"))
    stored += str(await query(state, "SELECT * FROM operator_sessions"))
    assert grace not in stored and cookie not in stored
