"""Creating payments over the API: fees, idempotency, validation, reads."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from billpay.ledger.service import reserved_balance
from billpay.models import BillerPlan
from billpay.state import AppState
from flows import airtime, electricity, row_count


async def test_electricity_fee_is_the_seed_example(
    api: httpx.AsyncClient, state: AppState, merchant: tuple[uuid.UUID, str]
) -> None:
    response = await api.post(
        "/v1/payments",
        json=electricity(request_reference="elec-1"),
    )
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["total_kobo"] == 503_000  # ₦5,030 for a ₦5,000 bill
    assert payment["customer_name"]


async def test_same_reference_same_body_returns_the_same_payment(api: httpx.AsyncClient) -> None:
    body = airtime(request_reference="ref-same")
    first = await api.post("/v1/payments", json=body)
    # Same content, different key order: still the same request.
    second = await api.post("/v1/payments", json=dict(reversed(list(body.items()))))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"


async def test_same_reference_different_body_is_a_conflict(
    api: httpx.AsyncClient, state: AppState
) -> None:
    await api.post("/v1/payments", json=airtime(request_reference="ref-409"))
    response = await api.post(
        "/v1/payments", json=airtime(request_reference="ref-409", amount_kobo=60_000)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert await row_count(state, "payments") == 1


async def test_a_retry_after_its_plan_was_withdrawn_still_answers_with_its_payment(
    api: httpx.AsyncClient, state: AppState
) -> None:
    body = airtime(request_reference="ref-withdrawn")
    first = await api.post("/v1/payments", json=body)
    await _set_plan_active(state, body["plan"], False)
    try:
        retry = await api.post("/v1/payments", json=body)
        fresh = await api.post("/v1/payments", json=airtime(request_reference="ref-after"))
    finally:
        await _set_plan_active(state, body["plan"], True)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert fresh.status_code == 422
    assert fresh.json()["error"]["code"] == "unknown_plan"


async def _set_plan_active(state: AppState, slug: str, active: bool) -> None:
    """The catalog is shared by the tests: a test that withdraws a plan puts it back."""
    async with state.unit_of_work() as session:
        await session.execute(
            update(BillerPlan).where(BillerPlan.slug == slug).values(active=active)
        )
    state.plans.forget()


async def test_a_retry_is_not_looked_up_at_the_provider_again(
    api: httpx.AsyncClient, state: AppState
) -> None:
    body = electricity(request_reference="elec-retry")
    first = await api.post("/v1/payments", json=body)
    looked_up = await row_count(state, "provider_calls")
    retry = await api.post("/v1/payments", json=body)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert looked_up > 0
    assert await row_count(state, "provider_calls") == looked_up


async def test_fifty_concurrent_duplicates_make_one_payment(
    api: httpx.AsyncClient, state: AppState, merchant: tuple[uuid.UUID, str]
) -> None:
    body = airtime(request_reference="ref-concurrent")
    responses = await asyncio.gather(*(api.post("/v1/payments", json=body) for _ in range(50)))
    assert sorted({r.status_code for r in responses}) == [200, 201]
    assert sum(r.status_code == 201 for r in responses) == 1
    assert len({r.json()["id"] for r in responses}) == 1
    assert await row_count(state, "payments") == 1
    async with state.unit_of_work() as session:
        assert await reserved_balance(session, merchant[0]) == 50_000


BAD_INPUT = [
    ({"amount_kobo": -100}, 422, "validation_error", "amount_kobo"),
    ({"amount_kobo": 0}, 422, "validation_error", "amount_kobo"),
    ({"amount_kobo": 500.5}, 422, "validation_error", "amount_kobo"),
    ({"amount_kobo": "50000"}, 422, "validation_error", "amount_kobo"),
    ({"amount_kobo": 10**15}, 422, "amount_out_of_range", "amount_kobo"),
    ({"plan": "no-such-plan"}, 422, "unknown_plan", "plan"),
    ({"customer_id": "0803123"}, 422, "invalid_phone", "customer_id"),
    ({"customer_id": "1111111111111"}, 422, "invalid_phone", "customer_id"),
    ({"plan": None}, 422, "validation_error", "plan"),
    ({"request_reference": "has spaces!"}, 422, "validation_error", "request_reference"),
    ({"funding_method": "cash"}, 422, "validation_error", "funding_method"),
    ({"unexpected": 1}, 422, "validation_error", "unexpected"),
]


@pytest.mark.parametrize(("change", "status", "code", "field"), BAD_INPUT)
async def test_bad_input_is_a_specific_error_and_writes_nothing(
    api: httpx.AsyncClient,
    state: AppState,
    change: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    body = {k: v for k, v in {**airtime(), **change}.items() if v is not None}
    response = await api.post("/v1/payments", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["message"]
    assert await row_count(state, "payments") == 0
    assert await row_count(state, "ledger_entries") == 1  # only the merchant's top-up


async def test_missing_fields_are_named(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/payments", json={"plan": "mtn-airtime"})
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["error"]["details"]["fields"]}
    assert {"request_reference", "customer_id"} <= fields


async def test_fixed_price_plan_rejects_another_amount(api: httpx.AsyncClient) -> None:
    plans = (await api.get("/v1/billers/dstv/plans")).json()
    fixed = next(p for p in plans if p["price_kobo"])
    response = await api.post(
        "/v1/payments",
        json={
            "request_reference": "tv-1",
            "plan": fixed["slug"],
            "customer_id": "1212121212",
            "amount_kobo": fixed["price_kobo"] + 100,
            "phone": "08031234567",
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "amount_mismatch"


async def test_wrong_or_missing_api_key_is_401(api: httpx.AsyncClient, state: AppState) -> None:
    for headers in ({"Authorization": "Bearer bp_wrong"}, {"Authorization": ""}):
        response = await api.post("/v1/payments", json=airtime(), headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] in {"unauthorized", "invalid_api_key"}
    assert await row_count(state, "payments") == 0


async def test_invalid_meter_is_named_and_moves_no_money(
    api: httpx.AsyncClient, state: AppState
) -> None:
    response = await api.post(
        "/v1/payments",
        json=electricity("2222222222222", request_reference="bad-meter"),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_customer"
    assert error["details"]["field"] == "customer_id"
    assert await row_count(state, "payments") == 0


async def test_get_by_id_reference_and_list_with_cursor(api: httpx.AsyncClient) -> None:
    ids = [
        (await api.post("/v1/payments", json=airtime(request_reference=f"list-{i}"))).json()["id"]
        for i in range(5)
    ]
    by_ref = (await api.get("/v1/payments/by-reference/list-3")).json()
    assert by_ref["id"] == ids[3]
    assert by_ref["events"][0]["to_status"] == "pending"
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/payments", params=params)).json()
        seen += [p["id"] for p in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    missing = await api.get(f"/v1/payments/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert (await api.get("/v1/payments", params={"cursor": "garbage"})).status_code == 422
