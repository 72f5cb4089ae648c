"""All provider simulators behind one HTTP server, and the settings that point billpay at it.

Each simulator is mounted under its provider's name; nothing else in billpay knows it is
talking to a simulator: it only sees base URLs and credentials.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from stellar_sdk import Keypair

from billpay.sandbox.flutterwave.app import create_app as flutterwave_app
from billpay.sandbox.horizon import HorizonState, bootstrap_cngn
from billpay.sandbox.horizon import create_app as horizon_app
from billpay.sandbox.interswitch.app import create_app as interswitch_app
from billpay.sandbox.paystack.app import create_app as paystack_app
from billpay.sandbox.vtpass.app import create_app as vtpass_app

VTPASS_KEYS = {
    "api_key": "sandbox-api-key",
    "secret_key": "sandbox-secret-key",
    "public_key": "sandbox-public-key",
}
FLUTTERWAVE_SECRET_KEY = "FLWSECK_TEST-sandbox"
FLUTTERWAVE_SECRET_HASH = "sandbox-hash"
INTERSWITCH_CLIENT = {
    "client_id": "sandbox-client",
    "client_secret": "sandbox-secret",
    "terminal_id": "3DMO0001",
    "request_prefix": "1453",
}
VTPASS_WEBHOOK_TOKEN = "sandbox-webhook-token"
PAYSTACK_SECRET_KEY = "sk_test_sandbox"
# The simulated Stellar network: its own passphrase (nothing signed for it is valid on a real
# network), and the cNGN issuer and billpay's system account derived from fixed seeds, so the
# sandbox process (which holds the ledger) and billpay (which must know the keys) agree
# without talking. Sandbox-only keys: never configure them against a real Horizon.
HORIZON_PASSPHRASE = "billpay Horizon simulator ; sandbox"
CNGN_ASSET_CODE = "cNGN"


def _sandbox_keypair(name: str) -> Keypair:
    return Keypair.from_raw_ed25519_seed(
        hashlib.sha256(f"billpay-sandbox:{name}".encode()).digest()
    )


def sandbox_horizon_state() -> HorizonState:
    """A fresh simulated network with the cNGN issuer and the system account (holding no cNGN)."""
    state = HorizonState(HORIZON_PASSPHRASE)
    bootstrap_cngn(
        state,
        asset_code=CNGN_ASSET_CODE,
        issuer=_sandbox_keypair("cngn-issuer"),
        system=_sandbox_keypair("stellar-system"),
    )
    return state


def create_sandbox_app(**states: Any) -> Starlette:
    """``states`` may pass a simulator's state object by provider name (tests inspect them)."""
    return Starlette(
        routes=[
            Mount("/vtpass", app=vtpass_app(states.get("vtpass"), **VTPASS_KEYS)),
            Mount(
                "/flutterwave",
                app=flutterwave_app(
                    states.get("flutterwave"),
                    secret_key=FLUTTERWAVE_SECRET_KEY,
                    secret_hash=FLUTTERWAVE_SECRET_HASH,
                ),
            ),
            Mount(
                "/interswitch", app=interswitch_app(states.get("interswitch"), **INTERSWITCH_CLIENT)
            ),
            Mount(
                "/paystack",
                app=paystack_app(states.get("paystack"), secret_key=PAYSTACK_SECRET_KEY),
            ),
            Mount("/horizon", app=_horizon(states.get("horizon"))),
        ]
    )


def _horizon(state: HorizonState | None) -> Any:
    state = state or sandbox_horizon_state()
    return horizon_app(state, network_passphrase=state.network_passphrase)


def sandbox_settings(base_url: str) -> dict[str, Any]:
    """Settings (by field name) that route every provider to the simulators at ``base_url``."""
    return {
        "vtpass_base_url": f"{base_url}/vtpass/api",
        "vtpass_api_key": VTPASS_KEYS["api_key"],
        "vtpass_secret_key": VTPASS_KEYS["secret_key"],
        "vtpass_public_key": VTPASS_KEYS["public_key"],
        "vtpass_webhook_token": VTPASS_WEBHOOK_TOKEN,
        "flutterwave_base_url": f"{base_url}/flutterwave/v3",
        "flutterwave_secret_key": FLUTTERWAVE_SECRET_KEY,
        "flutterwave_secret_hash": FLUTTERWAVE_SECRET_HASH,
        "interswitch_base_url": f"{base_url}/interswitch/quicktellerservice/api/v5",
        "interswitch_passport_url": f"{base_url}/interswitch",
        "interswitch_client_id": INTERSWITCH_CLIENT["client_id"],
        "interswitch_client_secret": INTERSWITCH_CLIENT["client_secret"],
        "interswitch_terminal_id": INTERSWITCH_CLIENT["terminal_id"],
        "interswitch_request_prefix": INTERSWITCH_CLIENT["request_prefix"],
        "paystack_base_url": f"{base_url}/paystack",
        "paystack_secret_key": PAYSTACK_SECRET_KEY,
        "stellar_horizon_url": f"{base_url}/horizon",
        "stellar_network_passphrase": HORIZON_PASSPHRASE,
        "stellar_system_secret": _sandbox_keypair("stellar-system").secret,
        "cngn_asset_code": CNGN_ASSET_CODE,
        "cngn_asset_issuer": _sandbox_keypair("cngn-issuer").public_key,
    }
