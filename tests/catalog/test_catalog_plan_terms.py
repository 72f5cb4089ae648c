"""The catalog tells an integrator, per plan, the fee, what the payer pays in all, and what a
payment for it must carry (which plans need a phone, a meter number, a smartcard…)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"fee_data_kobo": 2_500}  # a fee on a fixed-price plan, to see the total


async def _plan(api: httpx.AsyncClient, biller: str, slug: str) -> dict[str, Any]:
    plans = (await api.get(f"/v1/billers/{biller}/plans")).json()
    found: dict[str, Any] = next(plan for plan in plans if plan["slug"] == slug)
    return found


async def test_a_fixed_price_plan_shows_its_fee_and_total(api: httpx.AsyncClient) -> None:
    plan = await _plan(api, "mtn", "mtn-data-10gb-30d")

    assert plan["fee_kobo"] == 2_500
    assert plan["total_kobo"] == plan["price_kobo"] + 2_500
    assert plan["customer_id_kind"] == "phone_number"
    assert plan["required_fields"] == ["plan", "customer_id", "request_reference"]


async def test_an_any_amount_plan_needs_the_amount_and_the_payers_phone(
    api: httpx.AsyncClient,
) -> None:
    plan = await _plan(api, "ikeja-electric", "ikeja-electric-prepaid")

    assert plan["fee_kobo"] == 3_000  # the seed's ₦30 on electricity
    assert plan["total_kobo"] is None  # amount_kobo + fee_kobo, the payer's choice
    assert plan["customer_id_kind"] == "meter_number"
    assert plan["required_fields"] == [
        "plan",
        "customer_id",
        "request_reference",
        "amount_kobo",
        "phone",
    ]


async def test_what_the_catalog_promises_is_what_a_payment_is_charged(
    api: httpx.AsyncClient,
) -> None:
    """The terms are not a second copy of the rules: a payment with exactly the required
    fields is accepted and charged the advertised total."""
    plan = await _plan(api, "dstv", "dstv-compact")
    assert plan["customer_id_kind"] == "smartcard_number"
    assert "phone" in plan["required_fields"]
    values = {
        "plan": plan["slug"],
        "customer_id": "1212121212",
        "request_reference": "terms-1",
        "phone": "08031234567",
    }

    created = await api.post("/v1/payments", json={k: values[k] for k in plan["required_fields"]})

    assert created.status_code == 201, created.text
    assert created.json()["total_kobo"] == plan["total_kobo"]
    without_phone = {k: v for k, v in values.items() if k != "phone"}
    without_phone["request_reference"] = "terms-2"
    refused = await api.post("/v1/payments", json=without_phone)
    assert refused.json()["error"]["code"] == "phone_required"
