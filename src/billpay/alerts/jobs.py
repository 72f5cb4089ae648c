"""The worker's alert job: the rules evaluated every ``alert_interval_seconds``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Protocol

from billpay.alerts import service
from billpay.alerts.service import Evaluation
from billpay.db.context import JobContext
from billpay.providers.base import BillProvider, ProviderName


class AlertContext(JobContext, Protocol):
    """What an evaluation needs of its process (``AppState`` is one)."""

    @property
    def providers(self) -> Mapping[ProviderName, BillProvider]: ...


async def evaluate_now(context: AlertContext) -> Evaluation:
    """Read the floats (HTTP, outside any transaction), then evaluate in one unit of work."""
    floats = await service.read_floats(context.providers.values(), context.settings)
    async with context.unit_of_work() as session:
        return await service.evaluate(session, context.settings, floats)


class PeriodicAlerts:
    """Evaluates at the worker's first beat, then once per interval (0: never). With several
    workers each evaluates on its own beat; the evaluation lock and the one-open-incident-per-key
    index keep what the operators hear to once per incident."""

    def __init__(self) -> None:
        self._last: float | None = None

    async def __call__(self, context: AlertContext) -> int:
        interval = context.settings.alert_interval_seconds
        if interval <= 0:
            return 0
        if self._last is not None and time.monotonic() - self._last < interval:
            return 0
        self._last = time.monotonic()
        evaluation = await evaluate_now(context)
        return len(evaluation.opened) + len(evaluation.resolved)
