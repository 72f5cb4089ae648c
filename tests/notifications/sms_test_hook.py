"""A small SMS hook receiver (ASGI) that records what it is sent and answers as told."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

HOOK_PATH = "/sms"
HOOK_TOKEN = "sms-hook-token-5c1d"


@dataclass
class ReceivedSms:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class SmsHook:
    status_code: int = 202
    delay_seconds: float = 0.0
    received: list[ReceivedSms] = field(default_factory=list)

    def reset(self) -> None:
        self.status_code, self.delay_seconds = 202, 0.0
        self.received.clear()

    def asgi_app(self) -> Starlette:
        async def receive_sms(request: Request) -> JSONResponse:
            self.received.append(ReceivedSms(dict(request.headers), await request.json()))
            await asyncio.sleep(self.delay_seconds)
            return JSONResponse({"queued": self.status_code < 300}, status_code=self.status_code)

        return Starlette(routes=[Route(HOOK_PATH, receive_sms, methods=["POST"])])
