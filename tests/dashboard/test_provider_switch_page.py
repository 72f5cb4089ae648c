"""The Providers page: shared health and breakers, and the form that switches a provider off
and on as the signed-in operator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from dashboard_flows import ADMIN_NAME, ADMIN_TOKEN, CSRF_FIELD, dashboard_app

from billpay.state import AppState
from flows import query


@pytest.fixture
async def browser(state: AppState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=dashboard_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://billpay.test") as client:
        login = await client.post(
            "/dashboard/login", data={"name": ADMIN_NAME, "token": ADMIN_TOKEN}
        )
        assert login.status_code == 303
        yield client


async def csrf(browser: httpx.AsyncClient) -> str:
    match = CSRF_FIELD.search((await browser.get("/dashboard/providers")).text)
    assert match is not None
    return match.group(1)


async def test_the_form_disables_a_provider_as_the_operator_and_the_page_shows_it(
    browser: httpx.AsyncClient, state: AppState
) -> None:
    form = {
        "provider": "interswitch",
        "biller": "",
        "action": "disable",
        "reason": "Interswitch incident #42",
        "csrf": await csrf(browser),
    }
    response = await browser.post("/dashboard/providers/switch", data=form)
    assert response.status_code == 303
    page = await browser.get(response.headers["location"])
    assert "Switched: interswitch disabled." in page.text
    assert f"disabled by {ADMIN_NAME}: Interswitch incident #42" in page.text
    rows = await query(state, "SELECT provider, biller, enabled, actor FROM provider_switches")
    assert rows == [
        {"provider": "interswitch", "biller": "", "enabled": False, "actor": ADMIN_NAME}
    ]


async def test_a_switch_without_a_reason_is_refused_and_changes_nothing(
    browser: httpx.AsyncClient, state: AppState
) -> None:
    form = {"provider": "vtpass", "action": "disable", "reason": " ", "csrf": await csrf(browser)}
    response = await browser.post("/dashboard/providers/switch", data=form)
    assert response.status_code == 422
    assert "say why the provider is switched" in response.text
    assert await query(state, "SELECT * FROM provider_switches") == []


async def test_a_forged_switch_is_refused(browser: httpx.AsyncClient, state: AppState) -> None:
    form = {"provider": "vtpass", "action": "disable", "reason": "x", "csrf": "forged"}
    response = await browser.post("/dashboard/providers/switch", data=form)
    assert response.status_code == 403
    assert await query(state, "SELECT * FROM provider_switches") == []
