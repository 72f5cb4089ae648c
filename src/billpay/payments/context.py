"""What the payments package's jobs need from the running process.

Declared here so that payments never imports ``billpay.state``: the process's ``AppState``
satisfies it structurally, and so does any small stand-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from billpay.catalog.plans import PlanBook
from billpay.db.context import JobContext
from billpay.providers.base import BillProvider, ProviderName


class PaymentsContext(JobContext, Protocol):
    @property
    def providers(self) -> Mapping[ProviderName, BillProvider]: ...

    @property
    def plans(self) -> PlanBook: ...
