"""PlanBook: plans by slug for payments and the worker, cached until the catalog syncs."""

from __future__ import annotations

import pytest

from billpay.errors import UnknownPlan
from billpay.state import AppState


async def test_an_active_plan_is_read_once_until_forgotten(state: AppState) -> None:
    async with state.unit_of_work() as session:
        first = await state.plans.active(session, "mtn-airtime")
        again = await state.plans.active(session, "mtn-airtime")
        state.plans.forget()
        reread = await state.plans.active(session, "mtn-airtime")
    assert first.slug == "mtn-airtime"
    assert again is first
    assert reread == first and reread is not first


async def test_an_unknown_plan_is_the_clients_mistake(state: AppState) -> None:
    async with state.unit_of_work() as session:
        with pytest.raises(UnknownPlan) as raised:
            await state.plans.active(session, "no-such-plan")
        assert await state.plans.any(session, "no-such-plan") is None
    assert raised.value.code == "unknown_plan"
    assert raised.value.details == {"field": "plan"}


async def test_any_finds_the_plan_a_payment_was_made_for(state: AppState) -> None:
    async with state.unit_of_work() as session:
        plan = await state.plans.any(session, "ikeja-electric-prepaid")
    assert plan is not None and plan.biller == "ikeja-electric"
