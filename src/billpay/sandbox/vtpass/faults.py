"""Fault injection for the VTpass sandbox: settable in-process or over ``POST /_sandbox/faults``.

A rule names a fault kind and, optionally, narrows where it applies: one endpoint, one target
(a customer id — phone, meter, smartcard — or a request_id), a number of times, a probability.
The first rule that matches a request is applied (and its ``times`` used up); the others wait.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Collection

from pydantic import BaseModel, ConfigDict, Field


class FaultKind(enum.StrEnum):
    ERROR_5XX = "error_5xx"  # HTTP 500 before anything is processed
    TIMEOUT = "timeout"  # nothing processed; the answer is held past the client's timeout
    VEND_THEN_TIMEOUT = "vend_then_timeout"  # processed (vended), then the answer is held
    UNREADABLE = "unreadable"  # processed, then answered with an HTML page instead of JSON
    PENDING_THEN_DELIVERED = "pending_then_delivered"  # pending for N requeries, then delivered
    PENDING_FOREVER = "pending_forever"  # pending, and every requery says so
    REVERSE_AFTER_DELIVERY = "reverse_after_delivery"  # delivered, then reversed (+ webhook)
    # The purchase is lost before it is recorded and the connection cut: requery says 015.
    LOST_PURCHASE = "lost_purchase"


# Kinds that change how a purchase is fulfilled; they never fire on other endpoints.
PURCHASE_ONLY_KINDS = frozenset(
    {
        FaultKind.LOST_PURCHASE,
        FaultKind.VEND_THEN_TIMEOUT,
        FaultKind.PENDING_THEN_DELIVERED,
        FaultKind.PENDING_FOREVER,
        FaultKind.REVERSE_AFTER_DELIVERY,
    }
)
PURCHASE_ENDPOINT = "pay"


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    target: str | None = None  # a customer id or request_id; None = every request
    endpoint: str | None = None  # "pay", "requery", "merchant-verify", ...; None = all
    times: int | None = Field(default=None, ge=1)  # None = until the faults are replaced
    rate: float = Field(default=1.0, ge=0.0, le=1.0)  # chance per matching request
    pending_requeries: int = Field(default=2, ge=0)  # pending_then_delivered only

    def matches(self, endpoint: str, keys: Collection[str]) -> bool:
        if self.kind in PURCHASE_ONLY_KINDS and endpoint != PURCHASE_ENDPOINT:
            return False
        if self.endpoint is not None and self.endpoint != endpoint:
            return False
        return self.target is None or self.target in keys


class Faults(BaseModel):
    """The whole fault configuration. Defaults: no latency, no faults."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0)
    # How long a "timeout" holds the answer: past billpay's default 30 s provider timeout.
    timeout_seconds: float = Field(default=35.0, gt=0)
    rules: list[FaultRule] = Field(default_factory=list)

    def take(self, endpoint: str, keys: Collection[str], rng: random.Random) -> FaultRule | None:
        """The rule to apply to this request, with one of its ``times`` used up. Not thread-safe."""
        for rule in self.rules:
            if rule.matches(endpoint, keys) and rng.random() < rule.rate:
                self._use(rule)
                return rule
        return None

    def _use(self, rule: FaultRule) -> None:
        if rule.times is None:
            return
        rule.times -= 1
        if rule.times == 0:
            self.rules.remove(rule)
