"""The operators' webhook goes where a client's may: signed, https, to public addresses only
(outbox/destinations.py checks every connection), and its settings are refused at startup when
they could not be."""

from __future__ import annotations

from typing import Any

import pytest
from alert_helpers import ALERT_SECRET
from outbox_helpers import Receiver
from pydantic import ValidationError
from sqlalchemy import text

from billpay.alerts.jobs import evaluate_now
from billpay.config import Settings
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState
from flows import query, query_until


@pytest.fixture
def settings_overrides(receiver: tuple[Receiver, ThreadedServer]) -> dict[str, Any]:
    port = receiver[1].url.rsplit(":", 1)[1]
    return {
        # The receiver is there, but on loopback: production settings never connect to it.
        "alert_webhook_url": f"https://127.0.0.1:{port}/billpay-events",
        "alert_webhook_secret": ALERT_SECRET,
        "allow_private_webhook_urls": False,
    }


async def test_an_alert_webhook_to_a_private_address_is_never_sent(
    state: AppState, dispatcher: None, receiver: tuple[Receiver, ThreadedServer]
) -> None:
    async with state.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO provider_breakers (provider, biller, state, open_until) "
                "VALUES ('vtpass', '', 'open', now() + interval '1 hour')"
            )
        )
    await evaluate_now(state)

    await query_until(
        state,
        "SELECT last_error FROM outbox_messages WHERE alert_id IS NOT NULL",
        lambda rows: rows and rows[0]["last_error"] == "destination_not_allowed",
    )
    assert receiver[0].hits == []
    [message] = await query(state, "SELECT status FROM outbox_messages WHERE alert_id IS NOT NULL")
    assert message["status"] == "pending"  # retried on the backoff, replayable once fixed


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"alert_webhook_url": "https://ops.example/hook"}, "BILLPAY_ALERT_WEBHOOK_SECRET"),
        (
            {"alert_webhook_url": "http://ops.example/hook", "alert_webhook_secret": "s"},
            "https://",
        ),
    ],
)
def test_alert_webhook_settings_that_cannot_work_are_refused(
    values: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings.model_validate(values)


def test_the_signing_secret_is_not_shown_with_the_settings() -> None:
    settings = Settings.model_validate(
        {"alert_webhook_url": "https://ops.example/hook", "alert_webhook_secret": ALERT_SECRET}
    )
    assert ALERT_SECRET not in repr(settings) and ALERT_SECRET not in str(settings.model_dump())
