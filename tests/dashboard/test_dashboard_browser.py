"""The operator dashboard in a real browser: Debian's Chromium, driven by Playwright, against
the API served over HTTP on loopback (its own AppState on the server's thread and loop)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_flows import ADMIN_TOKEN, REVIEW_PHONE, dashboard_app, token_digits
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import text

from billpay.bootstrap import build_state
from billpay.config import Settings
from billpay.sandbox.server import ThreadedServer
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, electricity, pay, wait_for_status

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "payment_deadline_seconds": 1.0,
        "flutterwave_base_url": None,
        "interswitch_base_url": None,
    }


@pytest.fixture
def dashboard_url(state: AppState, settings: Settings, database_url: str) -> Iterator[str]:
    """The API over real HTTP, with an AppState of its own: its engine belongs to the server's
    event loop (``close_state`` disposes of it there), never to the test's."""
    served = build_state(settings, database_url)
    server = ThreadedServer(dashboard_app(served, close_state=True)).start()
    yield server.url
    server.stop()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def provider_reference(state: AppState, payment_id: str) -> str:
    async with state.unit_of_work() as session:
        reference = await session.scalar(
            text("SELECT provider_reference FROM payment_attempts WHERE payment_id = :id"),
            {"id": payment_id},
        )
    assert isinstance(reference, str)
    return reference


async def screenshot(page: Page, path: Path) -> None:
    await page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000  # a rendered page, not an empty canvas


async def log_in(page: Page) -> None:
    await page.goto("/dashboard/payments")
    assert "/dashboard/login" in page.url  # every page needs the operator session
    await page.fill("input[name=name]", "ada")
    await page.fill("input[name=token]", ADMIN_TOKEN)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/dashboard/payments")


async def test_an_operator_works_the_dashboard_in_a_real_browser(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    dashboard_url: str,
    tmp_path: Path,
) -> None:
    vtpass.set_faults(
        Faults(rules=[FaultRule(kind=FaultKind.PENDING_FOREVER, target=REVIEW_PHONE)])
    )
    top_up = await pay(api, airtime("08011111111"))
    power = await pay(api, electricity())
    review = await pay(api, airtime(REVIEW_PHONE))
    assert [top_up["status"], power["status"], review["status"]] == ["paid", "paid", "needs_review"]

    async with chromium() as browser:
        context = await browser.new_context(
            base_url=dashboard_url, viewport={"width": 1360, "height": 900}
        )
        page = await context.new_page()
        await log_in(page)
        [cookie] = await context.cookies()
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")

        # The list: every payment, each with its status badge.
        rows = page.locator("table.data tbody tr")
        assert await rows.count() == 3
        paid_row = rows.filter(has_text=power["short_id"])
        assert await paid_row.locator(".badge").text_content() == "paid"

        # Filter by status.
        await page.select_option("select[name=status]", "paid")
        await page.click("form.filters button[type=submit]")
        await page.wait_for_url("**/dashboard/payments?status=paid**")
        assert await page.locator("tbody .badge").all_text_contents() == ["paid", "paid"]
        assert review["short_id"] not in await page.locator("table.data").inner_text()
        await screenshot(page, tmp_path / "payments.png")

        # The detail page: attempts, events, the token masked.
        await page.get_by_role("link", name=power["short_id"]).click()
        await page.wait_for_url(f"**/dashboard/payments/{power['id']}")
        attempt = page.locator("article.attempt")
        assert "vtpass" in await attempt.locator("header").inner_text()
        assert await provider_reference(state, power["id"]) in await attempt.inner_text()
        assert "Why this provider" in await attempt.inner_text()
        await attempt.locator("summary", has_text="Response").click()
        assert await attempt.locator("pre.payload").nth(1).is_visible()
        events = page.locator("ol.timeline > li")
        assert await events.count() == 3
        assert "paid" in await events.nth(2).inner_text()
        digits = token_digits(power["token"])
        assert await page.text_content("[data-field=token]") == (
            f"****…{digits[-4:]} (owner-only: masked)"
        )
        assert digits not in token_digits(await page.content())
        await screenshot(page, tmp_path / "payment.png")

        # Resolve the review through the form.
        await page.goto(f"/dashboard/payments/{review['id']}")
        await page.check("input[name=outcome][value=paid]")
        await page.fill("textarea[name=reason]", "VTpass console shows the airtime delivered")
        await page.click("section.resolve button[type=submit]")
        await page.wait_for_url("**?resolved=paid")
        assert await page.text_content(".alert-ok") == "Resolved: the payment is now paid."
        assert await page.locator("h1 .badge").text_content() == "paid"
        assert "by operator:ada" in await page.locator("ol.timeline").inner_text()
        assert await page.locator("section.resolve").count() == 0
        await screenshot(page, tmp_path / "resolved.png")

        # The figures pages render what the database holds.
        await page.goto("/dashboard")
        assert (
            await page.locator(".tile", has_text="paid").locator(".tile-count").text_content()
            == "3"
        )
        await screenshot(page, tmp_path / "overview.png")
        await page.goto("/dashboard/providers")
        assert "vtpass" in await page.locator("table.data").first.inner_text()
        await screenshot(page, tmp_path / "providers.png")
        await page.goto("/dashboard/stuck")
        assert await page.locator("section.card .count").first.text_content() == "0"
        await page.goto("/dashboard/reconcile")
        assert "Ledger OK" in await page.locator(".alert-ok").inner_text()

    final = await wait_for_status(api, review["id"], {"paid"})
    assert final["events"][-1]["actor"] == "operator:ada"


# --- layout: every page at a phone's width and a wide desktop's ------------------------------

VIEWPORTS = {"phone": 390, "desktop": 1400}

# What overflows, measured in the page: the page wider than the viewport; a card, tile or chart
# whose content is wider than itself or that pokes out of the viewport; a table or chart wider
# than its card (a table may scroll inside its .table-wrap on a phone, never on a desktop).
OVERFLOWS = """(scrollingAllowed) => {
  const found = [];
  const describe = (el) => {
    const classes = el.getAttribute("class");
    return el.tagName.toLowerCase() + (classes ? "." + classes.trim().split(/\\s+/).join(".") : "")
      + (el.id ? "#" + el.id : "");
  };
  const page = document.documentElement;
  if (page.scrollWidth > window.innerWidth) {
    found.push(`page is ${page.scrollWidth}px wide in a ${window.innerWidth}px viewport`);
  }
  for (const box of document.querySelectorAll(".card, .tile, .chart")) {
    const edge = box.getBoundingClientRect();
    if (box.scrollWidth > box.clientWidth + 1) {
      found.push(`${describe(box)}: content ${box.scrollWidth}px in ${box.clientWidth}px`);
    }
    if (edge.left < -0.5 || edge.right > window.innerWidth + 0.5) {
      found.push(`${describe(box)}: spans ${edge.left}..${edge.right}px`);
    }
  }
  for (const wide of document.querySelectorAll("table, svg.chart-svg")) {
    const card = wide.closest(".card");
    const wrap = wide.closest(".table-wrap");
    if (card === null) { found.push(`${describe(wide)} outside any card`); continue; }
    const inner = card.getBoundingClientRect();
    const edge = (wrap || wide).getBoundingClientRect();
    if (edge.width > 0 && edge.right > inner.right + 0.5) {
      found.push(`${describe(wide)} ends at ${edge.right}px, its card at ${inner.right}px`);
    }
    if (wrap && !scrollingAllowed && wrap.scrollWidth > wrap.clientWidth + 1) {
      found.push(`${describe(wide)} needs ${wrap.scrollWidth}px in ${wrap.clientWidth}px`);
    }
  }
  return found;
}"""


@pytest.fixture
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the screenshots go: ``$BILLPAY_TEST_ARTIFACTS/<test>`` when set (CI keeps that
    folder), else the test's tmp folder; the test prints which."""
    root = os.environ.get("BILLPAY_TEST_ARTIFACTS")
    folder = Path(root) / request.node.name if root else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {folder}")  # shown with -rP, and on a failure
    return folder


async def overflows(page: Page, *, scrolling_allowed: bool) -> list[str]:
    found = await page.evaluate(OVERFLOWS, scrolling_allowed)
    assert isinstance(found, list)
    return [str(problem) for problem in found]


async def test_every_page_fits_a_phone_and_a_wide_screen(
    api: httpx.AsyncClient, worker: Worker, dashboard_url: str, artifacts: Path
) -> None:
    power = await pay(api, electricity())
    # Clients' references can be long and unbroken (up to 100 characters): they must wrap.
    await pay(
        api, airtime("08011111111", request_reference=f"shop.ng:order-{uuid.uuid4().hex * 2}")
    )
    problems: dict[str, list[str]] = {}

    async with chromium() as browser:
        for device, width in VIEWPORTS.items():
            context = await browser.new_context(
                base_url=dashboard_url, viewport={"width": width, "height": 900}
            )
            page = await context.new_page()
            await page.goto("/dashboard/login")
            problems[f"login at {width}px"] = await overflows(page, scrolling_allowed=False)
            await log_in(page)
            pages = {"payment": f"/dashboard/payments/{power['id']}"}
            for link in await page.locator("nav.nav a").all():
                name = str(await link.text_content()).strip().lower()
                pages[name] = str(await link.get_attribute("href"))
                edge = await link.bounding_box()  # the nav stays on screen, wrapped if need be
                assert edge is not None and edge["x"] + edge["width"] <= width, name
            for name, path in pages.items():
                await page.goto(path)
                problems[f"{name} at {width}px"] = await overflows(
                    page, scrolling_allowed=device == "phone"
                )
                await screenshot(page, artifacts / f"{name}-{width}.png")
            await page.goto("/dashboard/charts")
            charts = page.locator("svg.chart-svg")
            assert await charts.count() == 6
            for chart in await charts.all():
                edge = await chart.bounding_box()
                assert edge is not None and edge["width"] > width / 3  # drawn, not squashed
            await page.locator("details.chart-data summary").first.click()  # its data table
            problems[f"charts' data at {width}px"] = await overflows(
                page, scrolling_allowed=device == "phone"
            )
            await screenshot(page, artifacts / f"charts-data-{width}.png")
            await context.close()

    assert {where: found for where, found in problems.items() if found} == {}
