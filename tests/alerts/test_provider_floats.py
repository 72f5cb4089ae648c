"""Provider floats for the low-float alert: VTpass ``GET balance`` and Flutterwave
``GET /v3/balances/NGN`` read over real HTTP from the simulators; Interswitch documents none."""

from __future__ import annotations

from typing import Any

import pytest

from billpay.providers.base import ProviderError, ProviderName, ReportsBalance
from billpay.providers.vtpass import transformers
from billpay.sandbox.flutterwave.state import FlutterwaveSandboxState
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState


async def test_vtpass_and_flutterwave_report_their_float_in_kobo(
    state: AppState, sandbox_states: dict[str, Any]
) -> None:
    vtpass: VTpassSandboxState = sandbox_states["vtpass"]
    flutterwave: FlutterwaveSandboxState = sandbox_states["flutterwave"]
    vtpass.balance_kobo = 4_999_950
    flutterwave.balance_kobo = 12_345_67

    readers = {name: p for name, p in state.providers.items() if isinstance(p, ReportsBalance)}

    assert set(readers) == {ProviderName.VTPASS, ProviderName.FLUTTERWAVE}
    assert await readers[ProviderName.VTPASS].balance_kobo() == 4_999_950
    assert await readers[ProviderName.FLUTTERWAVE].balance_kobo() == 12_345_67


@pytest.mark.parametrize(
    ("body", "kobo"),
    [
        ({"code": 1, "contents": {"balance": 1000}}, 100_000),  # the sandbox's (and django's)
        ({"code": "000", "content": {"balance": "1,000.50"}}, 100_050),
        ({"code": "000", "content": {"balance": "12.345"}}, 1_234),  # never overstated
    ],
)
def test_vtpass_balance_shapes_are_read(body: dict[str, Any], kobo: int) -> None:
    assert transformers.balance_kobo(200, body) == kobo


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"code": "087", "response_description": "INVALID CREDENTIALS"}),
        (200, {"code": "000", "content": {"balance": "n/a"}}),
        (500, {"code": 1, "contents": {"balance": 1000}}),
        (200, None),
    ],
)
def test_a_vtpass_answer_without_a_balance_is_unreadable(status: int, body: Any) -> None:
    with pytest.raises(ProviderError):
        transformers.balance_kobo(status, body)
