"""The dashboard over ASGI: the login gate, the session cookie, CSRF, escaping, masking."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from dashboard_flows import ADMIN_TOKEN, CSRF_FIELD, REVIEW_PHONE, dashboard_app, token_digits

from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, electricity, pay

PAGES = ["", "/payments", "/charts", "/providers", "/stuck", "/reconcile"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "payment_deadline_seconds": 1.0,
        "flutterwave_base_url": None,
        "interswitch_base_url": None,
    }


@pytest.fixture
async def browser(state: AppState) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client on the dashboard, not logged in."""
    transport = httpx.ASGITransport(app=dashboard_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://billpay.test") as client:
        yield client


async def log_in(client: httpx.AsyncClient, token: str = ADMIN_TOKEN) -> httpx.Response:
    return await client.post(
        "/dashboard/login", data={"name": "ada", "token": token, "next": "/dashboard/stuck"}
    )


async def csrf_of(client: httpx.AsyncClient, path: str = "/dashboard") -> str:
    match = CSRF_FIELD.search((await client.get(path)).text)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize("page", [*PAGES, f"/payments/{uuid.uuid4()}"])
async def test_every_page_sends_a_stranger_to_the_login_form(
    browser: httpx.AsyncClient, page: str
) -> None:
    response = await browser.get(f"/dashboard{page}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/login?next=%2Fdashboard")


async def test_a_wrong_token_is_refused_without_a_session(browser: httpx.AsyncClient) -> None:
    response = await log_in(browser, "wrong-token")
    assert response.status_code == 401
    assert "That operator and token do not match." in response.text
    assert "set-cookie" not in response.headers
    assert (await browser.get("/dashboard")).status_code == 303


async def test_login_sets_a_strict_httponly_cookie_and_opens_every_page(
    browser: httpx.AsyncClient,
) -> None:
    response = await log_in(browser)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/stuck"
    cookie = response.headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=strict", "path=/dashboard", "max-age="):
        assert attribute in cookie
    assert ADMIN_TOKEN.lower() not in cookie
    for page in PAGES:
        page_response = await browser.get(f"/dashboard{page}")
        assert page_response.status_code == 200, page
        assert "script-src" not in page_response.headers["content-security-policy"]
        assert page_response.headers["x-frame-options"] == "DENY"
        assert "ada" in page_response.text


async def test_a_tampered_or_foreign_cookie_is_no_session(browser: httpx.AsyncClient) -> None:
    await log_in(browser)
    genuine = browser.cookies["billpay_operator"]
    forged = "a-session-id-this-server-never-issued-0123456789"
    for value in (genuine[:-2] + "xx", forged, "garbage"):
        browser.cookies.set("billpay_operator", value, domain="billpay.test", path="/dashboard")
        assert (await browser.get("/dashboard")).status_code == 303
    browser.cookies.clear()
    raw = await browser.get("/dashboard", headers={"cookie": b"billpay_operator=\xc3\xa9.\xff.x"})
    assert raw.status_code == 303


async def test_login_never_redirects_off_the_dashboard(browser: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/v1/payments"):
        response = await browser.post(
            "/dashboard/login", data={"name": "ada", "token": ADMIN_TOKEN, "next": target}
        )
        assert response.headers["location"] == "/dashboard"


async def test_posts_without_the_csrf_token_are_refused(browser: httpx.AsyncClient) -> None:
    await log_in(browser)
    resolve = await browser.post(
        f"/dashboard/payments/{uuid.uuid4()}/resolve",
        data={"outcome": "refund", "reason": "x", "csrf": "forged"},
    )
    logout = await browser.post("/dashboard/logout", data={})
    assert (resolve.status_code, logout.status_code) == (403, 403)
    assert (await browser.get("/dashboard")).status_code == 200  # still logged in
    logged_out = await browser.post("/dashboard/logout", data={"csrf": await csrf_of(browser)})
    assert logged_out.status_code == 303
    assert (await browser.get("/dashboard")).status_code == 303


async def test_what_an_operator_types_is_escaped(browser: httpx.AsyncClient) -> None:
    await log_in(browser)
    response = await browser.get("/dashboard/payments", params={"q": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)" in response.text
    bad_filter = await browser.get("/dashboard/payments", params={"status": "<b>nope</b>"})
    assert bad_filter.status_code == 422
    assert "<b>nope" not in bad_filter.text


async def test_the_electricity_token_is_masked_and_review_can_be_resolved(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    browser: httpx.AsyncClient,
) -> None:
    vtpass.set_faults(
        Faults(rules=[FaultRule(kind=FaultKind.PENDING_FOREVER, target=REVIEW_PHONE)])
    )
    paid = await pay(api, electricity())
    review = await pay(api, airtime(REVIEW_PHONE))
    await log_in(browser)

    detail = (await browser.get(f"/dashboard/payments/{paid['id']}")).text
    digits = token_digits(paid["token"])
    assert f"****…{digits[-4:]}" in detail
    assert paid["token"] not in detail
    assert digits not in token_digits(detail)

    path = f"/dashboard/payments/{review['id']}"
    csrf = await csrf_of(browser, path)
    missing_reason = await browser.post(
        f"{path}/resolve", data={"outcome": "paid", "reason": "  ", "csrf": csrf}
    )
    assert missing_reason.status_code == 422
    assert "reason" in missing_reason.text
    resolved = await browser.post(
        f"{path}/resolve", data={"outcome": "refund", "reason": "VTpass: no record", "csrf": csrf}
    )
    assert resolved.status_code == 303
    assert resolved.headers["location"] == f"{path}?resolved=refunded"
    after = (await browser.get(resolved.headers["location"])).text
    assert "Resolved: the payment is now refunded." in after
    assert "operator:ada" in after
    again = await browser.post(
        f"{path}/resolve", data={"outcome": "paid", "reason": "twice", "csrf": csrf}
    )
    assert again.status_code == 422
    assert "not needs_review" in again.text


def listed(html: str, payments: list[dict[str, Any]]) -> list[str]:
    return [p["short_id"] for p in payments if f">{p['short_id']}</a>" in html]


async def test_the_payments_list_filters_and_pages(
    api: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    created = []
    for _ in range(3):  # no worker: they stay pending, newest first in the list
        response = await api.post("/v1/payments", json=airtime("08011111111"))
        created.append(response.json())
    newest_first = created[::-1]
    await log_in(browser)

    first = await browser.get("/dashboard/payments", params={"limit": 2, "biller": "mtn"})
    assert listed(first.text, newest_first) == [p["short_id"] for p in newest_first[:2]]
    next_link = re.search(r'href="(/dashboard/payments\?[^"]+)" rel="next"', first.text)
    assert next_link is not None
    second = await browser.get(html.unescape(next_link.group(1)))
    assert listed(second.text, newest_first) == [newest_first[2]["short_id"]]
    assert 'rel="next"' not in second.text
    assert "First page" in second.text

    one = created[1]
    for query in (one["request_reference"][4:12], one["short_id"].lower(), one["id"]):
        found = await browser.get("/dashboard/payments", params={"q": query})
        assert listed(found.text, created) == [one["short_id"]], query
    expected: list[tuple[dict[str, str], int]] = [
        ({"status": "pending"}, 3),
        ({"bill_type": "airtime"}, 3),
        ({"status": "paid"}, 0),
        ({"provider": "vtpass"}, 0),  # no provider was tried yet
        ({"biller": "glo"}, 0),
    ]
    for params, count in expected:
        page = await browser.get("/dashboard/payments", params=params)
        assert len(listed(page.text, created)) == count, params
