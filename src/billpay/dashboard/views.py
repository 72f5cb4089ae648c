"""Rendering: the jinja2 environment (autoescaped), display filters, security headers.

The electricity token is an owner-only secret: an operator sees ``****…1234`` and nothing more.
Provider payloads are stored masked; they are masked again on the way out, never unmasked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from billpay.money import format_naira
from billpay.redact import mask_text, redact

SECURITY_HEADERS = {
    # No scripts at all; styles and forms only from here; never framed.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def masked_token(token: str | None) -> str:
    """``1234-5678-…-9012`` → ``****…9012``: enough to match a customer's report, no more."""
    if not token:
        return ""
    characters = [c for c in token if c.isalnum()]
    return "****…" + "".join(characters[-4:]) if len(characters) > 8 else "****"


def pretty_json(value: Any) -> str:
    return json.dumps(redact(value), indent=2, sort_keys=True, ensure_ascii=False, default=str)


def naira(kobo: int | None) -> str:
    return "" if kobo is None else format_naira(kobo)


def when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """``4000`` → ``1h 06m``; ``75`` → ``1m 15s``."""
    if seconds is None:
        return ""
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def milliseconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("billpay.dashboard", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        masked_token=masked_token,
        pretty_json=pretty_json,
        masked=mask_text,
        naira=naira,
        when=when,
        duration=duration,
        percent=percent,
        ms=milliseconds,
    )
    return env


ENVIRONMENT = _environment()


def render(template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = ENVIRONMENT.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
