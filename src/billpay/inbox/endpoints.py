"""``POST /v1/webhooks/{provider}``: read the raw body, delegate, answer as the provider expects.

VTpass retries until it gets ``{"response":"success"}``; Flutterwave and Paystack want a 2xx.
A replay gets the same answer as the first delivery, so the provider stops retrying.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from billpay.deps import State
from billpay.errors import WEBHOOK_ERRORS, ValidationFailed, error_responses
from billpay.inbox import service
from billpay.providers.vtpass.webhooks import WEBHOOK_ACK

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("/vtpass/{token}", responses=error_responses(*WEBHOOK_ERRORS, ValidationFailed))
async def vtpass_webhook(token: str, request: Request, state: State) -> dict[str, str]:
    """VTpass ``transaction-update`` / ``variations-update``; the secret token is the proof."""
    await service.receive(state, "vtpass", request.headers, await request.body(), token)
    return dict(WEBHOOK_ACK)


@router.post("/flutterwave", responses=error_responses(*WEBHOOK_ERRORS))
async def flutterwave_webhook(request: Request, state: State) -> dict[str, str]:
    """Flutterwave events, proven by the ``verif-hash`` header."""
    await service.receive(state, "flutterwave", request.headers, await request.body())
    return {"status": "received"}


@router.post("/paystack", responses=error_responses(*WEBHOOK_ERRORS))
async def paystack_webhook(request: Request, state: State) -> dict[str, str]:
    """Paystack events, proven by ``x-paystack-signature`` over the raw body."""
    await service.receive(state, "paystack", request.headers, await request.body())
    return {"status": "received"}


@router.post("/{provider}", include_in_schema=False)
async def other_webhook(provider: str, request: Request, state: State) -> dict[str, str]:
    """Providers without a route of their own: refused (VTpass without its token → 401)."""
    await service.receive(state, provider, request.headers, await request.body())
    return {"status": "received"}
