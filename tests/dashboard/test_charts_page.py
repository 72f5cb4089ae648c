"""The Charts page over ASGI: what the database holds, bucketed by hour, drawn and tabulated."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dashboard_flows import ADMIN_TOKEN, dashboard_app
from sqlalchemy import text

from billpay.clients.service import create_client
from billpay.dashboard.trends.charts import floor_to
from billpay.state import AppState

CHARTS = [
    "payments-by-bill-type",
    "success-rate-by-bill-type",
    "attempts-by-provider",
    "success-rate-by-provider",
    "median-latency-by-provider",
    "p95-latency-by-provider",
]
ROW = re.compile(r'<tr><td class="nowrap">([^<]+)</td>(.*?)</tr>')
CELL = re.compile(r'<td class="num">([^<]*)</td>')
HEADER = re.compile(r'<th class="num">([^<]*)</th>')


@pytest.fixture
async def operator_client(state: AppState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=dashboard_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://billpay.test") as client:
        signed_in = await client.post(
            "/dashboard/login", data={"name": "ada", "token": ADMIN_TOKEN}
        )
        assert signed_in.status_code == 303
        yield client


class Seed:
    """Payments and attempts written straight to their tables, at chosen times."""

    def __init__(self, state: AppState, client_id: uuid.UUID) -> None:
        self.state, self.client_id = state, client_id

    async def payment(
        self, at: datetime, bill_type: str, status: str, *, livemode: bool = True
    ) -> uuid.UUID:
        payment_id = uuid.uuid4()
        async with self.state.unit_of_work() as session:
            await session.execute(
                text(
                    "INSERT INTO payments (id, short_id, client_id, request_reference, "
                    "request_fingerprint, bill_type, biller, plan, plan_name, customer_id, "
                    "amount_kobo, fee_kobo, total_kobo, funding_method, status, livemode, "
                    "created_at, updated_at) VALUES (:id, :short, :client, :ref, 'x', :bill_type, "
                    "'mtn', 'mtn-airtime', 'MTN', '08011111111', 100, 0, 100, 'balance', :status, "
                    ":livemode, :at, :at)"
                ),
                {
                    "id": payment_id,
                    "short": payment_id.hex[:12],
                    "client": self.client_id,
                    "ref": payment_id.hex,
                    "bill_type": bill_type,
                    "status": status,
                    "livemode": livemode,
                    "at": at,
                },
            )
        return payment_id

    async def attempt(self, at: datetime, provider: str, outcome: str, latency_ms: int) -> None:
        payment_id = await self.payment(at, "airtime", "processing")
        async with self.state.unit_of_work() as session:
            await session.execute(
                text(
                    "INSERT INTO payment_attempts (id, payment_id, number, provider, "
                    "provider_reference, route_reason, outcome, last_latency_ms, created_at, "
                    "updated_at) VALUES (:id, :payment, 1, :provider, :ref, 'first choice', "
                    ":outcome, :latency, :at, :at)"
                ),
                {
                    "id": uuid.uuid4(),
                    "payment": payment_id,
                    "provider": provider,
                    "ref": uuid.uuid4().hex,
                    "outcome": outcome,
                    "latency": latency_ms,
                    "at": at,
                },
            )


@pytest.fixture
async def seed(state: AppState) -> Seed:
    async with state.unit_of_work() as session:
        client, _ = await create_client(session, "charts")
    return Seed(state, client.id)


def figure(page: str, chart: str) -> str:
    match = re.search(rf'<figure class="chart" id="{chart}".*?</figure>', page, re.S)
    assert match is not None, chart
    return match.group(0)


def table(page: str, chart: str) -> dict[str, dict[str, str]]:
    """The chart's data table: bucket → series → the value written."""
    html = figure(page, chart)
    series = HEADER.findall(html)
    return {
        time: dict(zip(series, CELL.findall(cells), strict=True))
        for time, cells in ROW.findall(html)
    }


async def test_the_charts_show_each_hour_by_bill_type_and_by_provider(
    operator_client: httpx.AsyncClient, seed: Seed
) -> None:
    hour = floor_to(datetime.now(UTC), timedelta(hours=1))
    three, two, one = (hour - timedelta(hours=n, minutes=-1) for n in (3, 2, 1))
    for status in ("paid", "paid", "refunded"):
        await seed.payment(three, "airtime", status)
    await seed.payment(two, "electricity", "needs_review")
    await seed.payment(one, "airtime", "paid")
    await seed.payment(one, "cable_tv", "paid", livemode=False)  # test mode: not business
    for outcome, latency in (("succeeded", 200), ("succeeded", 400), ("failed", 1000)):
        await seed.attempt(three, "vtpass", outcome, latency)
    await seed.attempt(two, "interswitch", "unknown", 5000)

    response = await operator_client.get("/dashboard/charts")
    assert response.status_code == 200
    page = response.text
    label = {moment: f"{moment:%d %b %H}:00" for moment in (three, two, one)}

    volume = table(page, "payments-by-bill-type")
    assert len(volume) == 25  # a day of hours, the current one included
    # The attempts' own payments are airtime "processing": counted, never decided.
    assert volume[label[three]] == {"airtime": "6", "electricity": "0"}
    assert volume[label[two]] == {"airtime": "1", "electricity": "1"}
    assert volume[label[one]] == {"airtime": "1", "electricity": "0"}
    success = table(page, "success-rate-by-bill-type")
    assert success[label[three]] == {"airtime": "66.7%", "electricity": "—"}
    assert success[label[two]] == {"airtime": "—", "electricity": "0.0%"}
    assert success[label[one]]["airtime"] == "100.0%"
    assert "cable tv" not in figure(page, "payments-by-bill-type")

    attempts = table(page, "attempts-by-provider")
    assert attempts[label[three]] == {"vtpass": "3", "interswitch": "0"}
    assert table(page, "success-rate-by-provider")[label[two]] == {
        "vtpass": "—",
        "interswitch": "0.0%",
    }
    assert table(page, "median-latency-by-provider")[label[three]]["vtpass"] == "400 ms"
    assert table(page, "p95-latency-by-provider")[label[three]]["vtpass"] == "940 ms"

    drawn = figure(page, "success-rate-by-bill-type")
    assert 'role="img"' in drawn
    assert (
        'aria-labelledby="success-rate-by-bill-type-title success-rate-by-bill-type-desc"' in drawn
    )
    assert "<title>airtime, " + label[three] + ": 66.7%</title>" in drawn
    assert 'data-series="electricity"' in drawn
    assert "electricity: from 0.0% to 0.0%, latest 0.0%." in drawn  # the description
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from elsewhere


async def test_with_nothing_in_the_window_each_chart_says_so(
    operator_client: httpx.AsyncClient, seed: Seed
) -> None:
    await seed.payment(datetime.now(UTC) - timedelta(days=3), "airtime", "paid")
    page = (await operator_client.get("/dashboard/charts")).text
    for chart in CHARTS:
        assert "Nothing to chart in this window." in figure(page, chart), chart
        assert "<svg" not in figure(page, chart)
    week = (await operator_client.get("/dashboard/charts", params={"window_hours": 168})).text
    assert "airtime: 1 in all." in figure(week, "payments-by-bill-type")
    assert "One point per 6 hours" in week


@pytest.mark.parametrize("window", ["0", "-1", "abc", str(24 * 91)])
async def test_a_window_out_of_range_is_a_422_page_naming_the_field(
    operator_client: httpx.AsyncClient, window: str
) -> None:
    response = await operator_client.get("/dashboard/charts", params={"window_hours": window})
    assert response.status_code == 422
    assert "window_hours" in response.text
