"""``/docs`` (Swagger UI) and ``/redoc`` work on a machine without internet access: their
assets are installed with billpay and served by the API, never fetched from a CDN.

The browser test runs Debian's Chromium with every request that is not to the API's loopback
address refused (Playwright's route interception), and reads the rendered operations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

from billpay.app import create_app
from billpay.bootstrap import build_state
from billpay.config import Settings
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


@pytest.fixture
def api_url(state: AppState, settings: Settings, database_url: str) -> Iterator[str]:
    """The API over real HTTP on loopback, with an AppState of its own (the server's loop)."""
    served = build_state(settings, database_url)
    server = ThreadedServer(create_app(served, close_state=True)).start()
    yield server.url
    server.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _offline_page(browser: Browser, api_url: str, refused: list[str]) -> Page:
    """A page whose only reachable host is the API: anything else is aborted (and noted)."""
    api_host = urlsplit(api_url).netloc
    context = await browser.new_context(base_url=api_url)

    async def only_the_api(route: Route) -> None:
        if urlsplit(route.request.url).netloc == api_host:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_the_api)
    return await context.new_page()


@needs_chromium
async def test_swagger_ui_renders_the_operations_with_the_network_unreachable(
    browser: Browser, api_url: str
) -> None:
    refused: list[str] = []
    page = await _offline_page(browser, api_url, refused)

    await page.goto("/docs")

    create_payment = page.locator(".opblock-post", has_text="/v1/payments").first
    await create_payment.wait_for(state="visible", timeout=30_000)
    assert await page.locator(".opblock").count() > 10
    await create_payment.locator(".opblock-summary").click()  # the UI is live, not a picture
    await page.locator(".responses-table", has_text="402").first.wait_for(timeout=30_000)
    assert refused == []  # nothing was even asked of another host


@needs_chromium
async def test_redoc_renders_the_operations_with_the_network_unreachable(
    browser: Browser, api_url: str
) -> None:
    refused: list[str] = []
    page = await _offline_page(browser, api_url, refused)

    await page.goto("/redoc")

    await page.get_by_text("/v1/balance/transactions").first.wait_for(timeout=30_000)
    # ReDoc's only outside request is its "API docs by Redocly" badge image, which it shows
    # as a link when the image cannot load; the reference itself needs nothing else.
    assert all(url.startswith("https://cdn.redoc.ly/redoc/logo") for url in refused), refused


async def test_the_doc_pages_name_only_assets_the_api_serves(api: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await api.get(page)).text
        assert "cdn." not in html and "fonts.googleapis" not in html, html
        assets = ["swagger-ui-bundle.js", "swagger-ui.css"] if page == "/docs" else []
        for asset in assets or ["redoc.standalone.js"]:
            assert f"/docs-assets/{asset}" in html
            served = await api.get(f"/docs-assets/{asset}")
            assert served.status_code == 200
            assert len(served.content) > 100_000  # the real bundle, installed with billpay
