"""Airtime and data for a phone without naming its network: detected, learned, shown.

The network comes from what billpay learned for the number (a provider's delivery, a
provider's definite wrong-network rejection, the client's explicit plan), else its prefix.
A ported number is simulated by VTpass's sandbox (``ported_numbers``): airtime for it on
another network fails definitively (016), saying where it is.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from billpay.ledger.service import available_balance
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import FINAL, ledger_ok, pay, query, routed_only_to, row_count, wait_for_status

START_BALANCE = 100_000_000
PORTED = "08031230001"  # an MTN block, ported to Airtel


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # VTpass's simulator is the one that knows ported numbers.
    return routed_only_to("vtpass")


def airtime_for(phone: str, amount_kobo: int = 50_000) -> dict[str, Any]:
    return {
        "request_reference": uuid.uuid4().hex,
        "plan": "airtime",
        "customer_id": phone,
        "amount_kobo": amount_kobo,
    }


async def validate(api: httpx.AsyncClient, plan: str, phone: str) -> dict[str, Any]:
    response = await api.post("/v1/customers/validate", json={"plan": plan, "customer_id": phone})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_phone_without_network_is_paid_on_its_prefix_network(
    api: httpx.AsyncClient, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment = await pay(api, airtime_for("+234 805 123 4567"))  # a Glo block
    assert payment["status"] == "paid", payment
    assert (payment["plan"], payment["biller"], payment["customer_id"]) == (
        "glo-airtime",
        "glo",
        "08051234567",
    )
    assert payment["events"][0]["reason"] == "created; balance reserved; network glo (prefix)"
    [vend] = vtpass.vends()
    assert (vend.service_id, vend.customer, vend.amount_kobo) == ("glo", "08051234567", 50_000)


async def test_a_ported_number_learned_from_a_rejection_goes_to_its_real_network_next_time(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    merchant: tuple[uuid.UUID, str],
) -> None:
    vtpass.options.ported_numbers = {PORTED: "airtel"}
    before = await validate(api, "airtime", PORTED)
    assert before["network"]["network"] == "mtn"
    assert before["network"]["source"] == "prefix"

    first = await pay(api, airtime_for(PORTED))
    assert first["status"] == "refunded", first
    assert first["plan"] == "mtn-airtime"
    assert "is on Airtel, not MTN" in first["failure_reason"]
    assert "Airtel for this number next time" in first["failure_reason"]
    assert vtpass.vends() == []

    learned = await validate(api, "airtime", PORTED)
    assert learned["network"]["network"] == "airtel"
    assert learned["network"]["source"] == "learned"
    assert learned["network"]["learned_from"] == "wrong_network_rejection"
    assert learned["network"]["learned_at"]
    assert [plan["slug"] for plan in learned["plans"]] == ["airtel-airtime"]

    # Any written form of the number is the same number.
    second = await pay(api, airtime_for("2348031230001"))
    assert second["status"] == "paid", second
    assert (second["plan"], second["biller"]) == ("airtel-airtime", "airtel")
    assert second["events"][0]["reason"].endswith(
        "; network airtel (learned: wrong_network_rejection)"
    )
    [vend] = vtpass.vends()  # one vend over both payments: the rejection vended nothing
    assert (vend.service_id, vend.customer) == ("airtel", PORTED)
    async with state.unit_of_work() as session:
        assert await available_balance(session, merchant[0]) == START_BALANCE - 50_000
    await ledger_ok(state)


async def test_explicit_network_plans_still_work_and_teach_less_than_providers(
    api: httpx.AsyncClient, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    vtpass.options.ported_numbers = {PORTED: "airtel"}
    chosen = await validate(api, "glo-airtime", PORTED)
    assert chosen["network"] == {
        "network": "glo",
        "source": "explicit",
        "learned_from": None,
        "learned_at": None,
    }

    paid = await pay(api, {**airtime_for(PORTED), "plan": "airtel-airtime"})
    assert paid["status"] == "paid", paid
    delivered = await validate(api, "airtime", PORTED)
    assert delivered["network"]["network"] == "airtel"
    assert delivered["network"]["learned_from"] == "provider_delivery"

    # A client's explicit plan is sold as asked, but its guess does not overwrite a
    # provider's evidence; VTpass's rejection of it confirms where the number is.
    refused = await pay(api, {**airtime_for(PORTED), "plan": "glo-airtime"})
    assert refused["status"] == "refunded", refused
    assert refused["plan"] == "glo-airtime"
    after = await validate(api, "airtime", PORTED)
    assert after["network"]["network"] == "airtel"
    assert after["network"]["learned_from"] == "wrong_network_rejection"
    assert [vend.service_id for vend in vtpass.vends()] == ["airtel"]


async def test_a_clients_explicit_plan_is_learned_for_the_number(
    api: httpx.AsyncClient, state: AppState
) -> None:
    response = await api.post(
        "/v1/payments", json={**airtime_for("08031230002"), "plan": "9mobile-airtime"}
    )
    assert response.status_code == 201, response.text
    learned = await validate(api, "airtime", "08031230002")
    assert learned["network"]["network"] == "9mobile"
    assert learned["network"]["learned_from"] == "client_choice"
    rows = await query(state, "SELECT payment_id FROM learned_networks")
    assert [str(row["payment_id"]) for row in rows] == [response.json()["id"]]


async def test_data_bundles_are_browsed_and_bought_by_detected_network(
    api: httpx.AsyncClient, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    answer = await validate(api, "data", "0705 123 4567")  # a Glo block
    assert answer["customer_id"] == "07051234567"
    assert answer["network"]["network"] == "glo"
    assert answer["network"]["source"] == "prefix"
    bundles = answer["plans"]
    assert bundles
    assert {(plan["biller"], plan["bill_type"]) for plan in bundles} == {("glo", "data")}
    bundle = next(
        plan
        for plan in bundles
        if plan["slug"].startswith("glo-data-") and "vtpass" in plan["providers"]
    )

    network_free = bundle["slug"].removeprefix("glo-")  # "data-…"
    payment = await pay(
        api,
        {"request_reference": uuid.uuid4().hex, "plan": network_free, "customer_id": "07051234567"},
    )
    assert payment["status"] == "paid", payment
    assert payment["plan"] == bundle["slug"]
    assert payment["amount_kobo"] == bundle["price_kobo"]
    [vend] = vtpass.vends()
    assert vend.service_id == "glo-data"


BAD_PHONES = [
    ("12345", "invalid_phone", "customer_id"),
    ("+2340803123456", "invalid_phone", "customer_id"),  # 234 + 9 digits
    ("08001234567", "invalid_phone", "customer_id"),  # toll-free, not mobile
    ("０８０３１２３４５６７", "invalid_phone", "customer_id"),  # full-width digits
    ("08041234567", "unknown_plan", "plan"),  # a mobile block no network's prefix names
]


@pytest.mark.parametrize(("phone", "code", "field"), BAD_PHONES)
@pytest.mark.parametrize("plan", ["airtime", "data-1gb-30d"])
async def test_a_bad_phone_is_a_4xx_naming_the_field_and_creates_nothing(
    api: httpx.AsyncClient, state: AppState, plan: str, phone: str, code: str, field: str
) -> None:
    for path, body in (
        ("/v1/payments", {**airtime_for(phone), "plan": plan}),
        ("/v1/customers/validate", {"plan": plan, "customer_id": phone}),
    ):
        response = await api.post(path, json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["details"]["field"]) == (code, field)
        assert error["message"].startswith(f"{field}:")
    assert await row_count(state, "payments") == 0
    assert await row_count(state, "learned_networks") == 0


async def test_a_network_without_the_bundle_and_bare_data_are_refused_naming_the_plan(
    api: httpx.AsyncClient, state: AppState
) -> None:
    for plan in ("data", "data-no-such-bundle"):
        response = await api.post("/v1/payments", json={**airtime_for("08051234567"), "plan": plan})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["details"]["field"]) == ("unknown_plan", "plan")
    assert "is on Glo (prefix)" in error["message"]
    assert await row_count(state, "payments") == 0


async def test_a_test_mode_lesson_is_not_used_in_live_mode(
    api: httpx.AsyncClient, state: AppState
) -> None:
    await query(
        state,
        "INSERT INTO learned_networks (livemode, phone, network, learned_from, evidence) "
        "VALUES (false, '08031230003', 'glo', 'provider_delivery', 'a simulator delivered') "
        "RETURNING phone",
    )
    live = await validate(api, "airtime", "08031230003")
    assert live["network"]["network"] == "mtn"
    assert live["network"]["source"] == "prefix"


async def test_a_replayed_network_free_request_is_the_same_payment(
    api: httpx.AsyncClient, worker: Worker
) -> None:
    body = airtime_for("08051234568")
    first = await api.post("/v1/payments", json=body)
    second = await api.post("/v1/payments", json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    await wait_for_status(api, first.json()["id"], FINAL)
