"""A payer's wallet for trying Stellar funding against the Horizon simulator
(``billpay pay --funding stellar``): a fresh payer account holding exactly the amount asked for
(the simulator's ``POST /_sandbox/accounts``), then a cNGN payment with the memo from the
payment's instructions, signed with stellar-sdk and submitted like any wallet would."""

from __future__ import annotations

from typing import Any

import httpx
from stellar_sdk import Asset, Keypair, TransactionBuilder
from stellar_sdk.client.aiohttp_client import AiohttpClient
from stellar_sdk.server_async import ServerAsync


async def pay_instructions(horizon_url: str, instructions: dict[str, Any]) -> str:
    """Pay what ``instructions`` ask for from a new simulator account; the transaction hash."""
    base = horizon_url.rstrip("/")
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        network = (await http.get(f"{base}/")).json()["network_passphrase"]
        funded = await http.post(
            f"{base}/_sandbox/accounts",
            json={
                "trustlines": [
                    {
                        "asset_code": instructions["asset_code"],
                        "asset_issuer": instructions["asset_issuer"],
                        "balance": instructions["amount"],
                    }
                ]
            },
        )
        funded.raise_for_status()
    payer = Keypair.from_secret(funded.json()["secret"])
    async with ServerAsync(base, AiohttpClient()) as server:
        account = await server.load_account(payer.public_key)
        transaction = (
            TransactionBuilder(account, network, base_fee=await server.fetch_base_fee())
            .append_payment_op(
                instructions["destination"],
                Asset(instructions["asset_code"], instructions["asset_issuer"]),
                instructions["amount"],
            )
            .add_text_memo(instructions["memo"])
            .set_timeout(60)
            .build()
        )
        transaction.sign(payer)
        response: dict[str, Any] = await server.submit_transaction(transaction)
    return str(response["hash"])
