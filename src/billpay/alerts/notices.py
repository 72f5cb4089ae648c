"""What operators are sent about an incident: the signed webhook's event and the email."""

from __future__ import annotations

import enum
import html
from datetime import UTC, datetime
from typing import Any

from billpay.alerts.schemas import AlertDeliveryOut, AlertKind, AlertOut, AlertState
from billpay.models import AlertIncident, OutboxMessage
from billpay.notifications import RenderedEmail


class Change(enum.StrEnum):
    OPENED = "opened"
    RESOLVED = "resolved"

    @property
    def event_type(self) -> str:
        return f"alert.{self.value}"


def alert_out(incident: AlertIncident, deliveries: list[OutboxMessage] | None = None) -> AlertOut:
    return AlertOut(
        id=incident.id,
        key=incident.key,
        kind=AlertKind(incident.kind),
        subject=incident.subject,
        state=AlertState.RESOLVED if incident.resolved_at else AlertState.OPEN,
        summary=incident.summary,
        details=incident.details,
        opened_at=incident.opened_at,
        last_seen_at=incident.last_seen_at,
        resolved_at=incident.resolved_at,
        deliveries=[
            AlertDeliveryOut(
                channel=message.channel,
                event_type=message.event_type,
                status=message.status,
                attempts=message.attempts,
                last_error=message.last_error,
            )
            for message in deliveries or []
        ],
    )


def webhook_event(incident: AlertIncident, change: Change) -> dict[str, Any]:
    """``{"id", "type", "created_at", "data": {"alert"}}``, shaped like a payment event; the id
    is the same on every retry, so a receiver can drop a copy it already has."""
    alert = alert_out(incident).model_dump(mode="json", exclude={"deliveries"})
    return {
        "id": f"alert_{incident.id}_{change.value}",
        "type": change.event_type,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"alert": alert},
    }


def email(incident: AlertIncident, change: Change) -> RenderedEmail:
    label = "ALERT" if change is Change.OPENED else "RESOLVED"
    rows = [
        ("Alert", incident.kind),
        ("About", incident.subject),
        ("Opened", _time(incident.opened_at)),
        *([("Resolved", _time(incident.resolved_at))] if incident.resolved_at else []),
        *((name, str(value)) for name, value in incident.details.items()),
    ]
    lead = (
        incident.summary
        if change is Change.OPENED
        else f"Cleared: {incident.summary} (no longer the case)"
    )
    text = "\n".join([lead, "", *(f"{name}: {value}" for name, value in rows), ""])
    cells = "".join(
        f"<tr><th align='left'>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in rows
    )
    body = f"<p>{html.escape(lead)}</p><table>{cells}</table>"
    return RenderedEmail(
        subject=f"[billpay {label}] {incident.summary}"[:200], text=text, html=body
    )


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else ""
