"""``billpay api`` — the real command, its logging and its server — with three extra routes
that leak a secret every way a log line can: a crash whose message quotes one, a database
error with one as a statement parameter, an outbound httpx call with one in its URL.

Run by ``test_secrets_never_logged_in_a_real_process.py`` as ``python planted_api.py api``;
the secrets come from the environment (``PLANTED_*``).
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from fastapi import FastAPI, Request
from sqlalchemy import text

from billpay.cli import runtime
from billpay.cli.main import app as cli
from billpay.state import AppState

real_create_app = runtime.create_app


def planted_app(state: AppState, **options: Any) -> FastAPI:
    app = real_create_app(state, **options)

    @app.get("/_planted/crash")
    async def crash() -> None:
        configured_secret = os.environ["BILLPAY_ADMIN_TOKEN"]  # in this frame's locals too
        raise RuntimeError(f"planted crash quoting {configured_secret}")

    @app.get("/_planted/database")
    async def database() -> None:
        async with state.unit_of_work() as session:
            # An integer parameter given text: asyncpg's error quotes the value.
            await session.execute(
                text("SELECT CAST(:value AS integer)"), {"value": os.environ["PLANTED_DB"]}
            )

    @app.get("/_planted/outbound")
    async def outbound(request: Request) -> dict[str, int]:
        url = f"http://127.0.0.1:{request.url.port}/healthz"
        async with httpx.AsyncClient() as client:
            answer = await client.get(url, params={"access_token": os.environ["PLANTED_URL"]})
        return {"status": answer.status_code}

    return app


runtime.create_app = planted_app  # type: ignore[assignment]  # the one change to `billpay api`

if __name__ == "__main__":
    cli()
