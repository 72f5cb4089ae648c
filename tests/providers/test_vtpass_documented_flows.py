"""Issue #11 end to end, over the API, the worker and the VTpass simulator: an IKEDC token as
its digits, and DStv renewals quoted, charged and sent at the renewal amount (providers.md §1.5)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from billpay.ledger.service import available_balance
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import PHONE, SMARTCARD, airtime, cable, electricity, ledger_ok, pay

PROMO_CARD = "1313131313"  # the simulator's 15 % promo: renewal ≠ the bouquet's list price
PADI_KOBO = 440_000  # every simulator smartcard watches DStv Padi
PROMO_RENEWAL_KOBO = 374_000  # ₦4,400 at 85 %
START_BALANCE = 100_000_000


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """VTpass alone, unless a test names its own providers."""
    default = {"flutterwave_base_url": None, "interswitch_base_url": None}
    overrides: dict[str, Any] = getattr(request, "param", default)
    return overrides


async def balance(state: AppState, merchant: tuple[uuid.UUID, str]) -> int:
    async with state.unit_of_work() as session:
        return await available_balance(session, merchant[0])


# --- tokens ------------------------------------------------------------------------------------


async def test_an_ikedc_labelled_token_reaches_the_owner_as_its_20_digits(
    api: httpx.AsyncClient, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment = await pay(api, electricity(plan="ikeja-electric-prepaid"))

    assert payment["status"] == "paid"
    (vend,) = vtpass.vends()
    assert payment["token"] == vend.token  # VTpass wrote "Token : <digits>"
    assert re.fullmatch(r"\d{20}", payment["token"])
    assert payment["units"] == f"{vend.units} kWh"


async def test_an_eko_bonus_token_is_kept_beside_the_main_token(
    api: httpx.AsyncClient, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment = await pay(api, electricity(plan="eko-electric-prepaid"))

    assert payment["status"] == "paid"
    (vend,) = vtpass.vends()
    assert vend.bonus_token  # Eko issues a free-basic-electricity token with every vend
    assert payment["token"] == vend.token
    assert payment["bonus_tokens"] == [vend.bonus_token]


# --- renewals ----------------------------------------------------------------------------------


async def test_customer_validation_shows_bouquet_renewal_amount_and_due_date(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/v1/customers/validate", json={"plan": "dstv-compact", "customer_id": PROMO_CARD}
    )

    assert response.status_code == 200, response.text
    found = response.json()
    assert found["current_bouquet"] == "DStv Padi N4,400 - 1 Month"
    assert (found["renewal_kobo"], found["due_date"]) == (PROMO_RENEWAL_KOBO, "2025-12-31")


async def test_a_promo_renewal_is_charged_and_sent_the_renewal_amount(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    merchant: tuple[uuid.UUID, str],
) -> None:
    payment = await pay(api, cable(PROMO_CARD, subscription_type="renew"))

    assert payment["status"] == "paid"
    assert payment["amount_kobo"] == PROMO_RENEWAL_KOBO
    assert payment["plan_name"] == "DStv Padi N4,400 - 1 Month (renewal)"
    (vend,) = vtpass.vends()
    assert (vend.amount_kobo, vend.subscription_type, vend.variation_code) == (
        PROMO_RENEWAL_KOBO,
        "renew",
        None,
    )
    assert await balance(state, merchant) == START_BALANCE - payment["total_kobo"]
    assert payment["total_kobo"] == PROMO_RENEWAL_KOBO + payment["fee_kobo"]
    await ledger_ok(state)


async def test_a_bouquet_change_is_charged_and_sent_the_plan_price(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment = await pay(api, cable(PROMO_CARD, subscription_type="change"))

    assert payment["status"] == "paid"
    (vend,) = vtpass.vends()
    assert vend.amount_kobo == payment["amount_kobo"] == 1_900_000
    assert (vend.subscription_type, vend.variation_code) == ("change", "dstv-compact")
    await ledger_ok(state)


async def test_a_renewal_at_another_amount_is_refused_and_nothing_moves(
    api: httpx.AsyncClient, state: AppState, merchant: tuple[uuid.UUID, str]
) -> None:
    body = cable(SMARTCARD, subscription_type="renew", amount_kobo=1_900_000)

    response = await api.post("/v1/payments", json=body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "amount_mismatch"
    assert error["details"] == {"field": "amount_kobo", "renewal_kobo": PADI_KOBO}
    assert await balance(state, merchant) == START_BALANCE


async def test_renewing_what_is_not_a_tv_subscription_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/payments", json=airtime(PHONE, subscription_type="renew"))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "renewal_unavailable"
    assert "subscription_type" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "settings_overrides",
    [{"vtpass_base_url": None, "interswitch_base_url": None}],
    indirect=True,
)
async def test_no_renewal_where_no_configured_provider_documents_one(
    api: httpx.AsyncClient, worker: Worker
) -> None:
    # Flutterwave documents no renewal: it can sell the bouquet, not renew one.
    renewal = await api.post("/v1/payments", json=cable(subscription_type="renew"))
    change = await pay(api, cable(subscription_type="change"))

    assert renewal.status_code == 422
    assert renewal.json()["error"]["code"] == "renewal_unavailable"
    assert change["status"] == "paid"
