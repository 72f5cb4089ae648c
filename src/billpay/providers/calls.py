"""Every HTTP exchange with a provider, as evidence (DESIGN §1.5: every provider call stores its
request and response, secrets masked).

``ProviderTransport.send`` hands each exchange to the collector of the code that asked for it
(``collect_calls``), so connectors know nothing of it; whoever opened the collector stores what
it gathered, in the transaction that records what the answer meant.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from billpay.redact import mask_text, redact

RAW_TEXT_LIMIT = 2000  # how much of a non-JSON answer is kept


class CallKind(enum.StrEnum):
    """What the exchange was made for. A purchase's passport-token fetch is a purchase call."""

    PURCHASE = "purchase"
    REQUERY = "requery"
    VALIDATION = "validation"
    REVERSAL_CHECK = "reversal_check"  # a requery of a delivered vend, looking for a reversal


@dataclass(frozen=True)
class ProviderCall:
    """One request and what came back, masked. ``http_status`` is None when no answer came;
    ``delivery`` is then ``never_sent`` or ``sent_unknown`` and ``error`` says why."""

    provider: str
    kind: CallKind
    method: str
    url: str
    request: dict[str, Any]
    delivery: str
    started_at: datetime
    latency_ms: int
    http_status: int | None = None
    response: Any = None  # the JSON body, masked
    response_text: str | None = None  # a body that is not JSON, masked and truncated
    error: str | None = None


@dataclass
class CallCollector:
    kind: CallKind
    calls: list[ProviderCall] = field(default_factory=list)


_collector: ContextVar[CallCollector | None] = ContextVar("billpay_provider_calls", default=None)


@contextmanager
def collect_calls(kind: CallKind) -> Iterator[list[ProviderCall]]:
    """Gather the provider exchanges made inside the block (tasks it starts included)."""
    collector = CallCollector(kind)
    token = _collector.set(collector)
    try:
        yield collector.calls
    finally:
        _collector.reset(token)


def current_kind() -> CallKind | None:
    collector = _collector.get()
    return None if collector is None else collector.kind


def note(call: ProviderCall) -> None:
    """Hand ``call`` to the open collector; without one (catalog sync, say) it is not kept."""
    collector = _collector.get()
    if collector is not None:
        collector.calls.append(call)


def masked_request(
    method: str,
    url: str,
    params: Mapping[str, str] | None,
    content: bytes | None,
    json_body: Mapping[str, Any] | None,
    form: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The request as evidence: method, URL, query and body, secrets masked. Headers are never
    kept: they carry the credentials."""
    request: dict[str, Any] = {"method": method, "url": mask_text(url)}
    if params:
        request["params"] = redact(dict(params))
    body = _body(content, json_body, form)
    if body is not None:
        request["body"] = body
    return request


def _body(
    content: bytes | None, json_body: Mapping[str, Any] | None, form: Mapping[str, str] | None
) -> Any:
    if json_body is not None:
        return redact(json_safe(json_body))
    if form is not None:
        return redact(dict(form))
    if content is None:
        return None
    try:
        return redact(json.loads(content))
    except ValueError:
        return mask_text(content.decode(errors="replace")[:RAW_TEXT_LIMIT])


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types (Decimals and dates become strings)."""
    return json.loads(json.dumps(value, default=str))
