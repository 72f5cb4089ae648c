"""The payment page's attempt card lists every provider call of the attempt, with its masked
request and answer (issue #11)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from dashboard_flows import ADMIN_TOKEN, dashboard_app, token_digits

from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import electricity, pay, routed_only_to


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return routed_only_to("vtpass")


async def test_the_attempt_card_lists_its_calls_with_payloads(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    meter_rule = FaultRule(kind=FaultKind.UNREADABLE, endpoint="pay", times=1)
    vtpass.set_faults(Faults(rules=[meter_rule]))
    payment = await pay(api, electricity())
    assert payment["status"] == "paid"
    transport = httpx.ASGITransport(app=dashboard_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://billpay.test") as browser:
        await browser.post(
            "/dashboard/login", data={"name": "ada", "token": ADMIN_TOKEN, "next": "/dashboard"}
        )
        page = await browser.get(f"/dashboard/payments/{payment['id']}")
    assert page.status_code == 200
    card = page.text[page.text.index("Provider calls") :]
    assert card.index('data-call-kind="purchase"') < card.index('data-call-kind="requery"')
    assert "/api/pay" in card and "/api/requery" in card
    assert "&lt;html" in card.lower()  # the unreadable answer, as it came (escaped)
    assert "Customer lookups at creation" in card and "/api/merchant-verify" in card
    assert token_digits(payment["token"]) not in page.text
