"""Fault injection for the Horizon simulator, set over ``POST /_sandbox/faults`` or in process.

Counters are consumed one submission (or one stream connection) at a time, so a test arms
exactly the failure it wants and the simulator behaves normally afterwards.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class SubmitFault(StrEnum):
    UNAVAILABLE_BEFORE_APPLY = "unavailable_before_apply"  # 503, nothing applied
    TIMEOUT_AFTER_APPLY = "timeout_after_apply"  # applied, but the client sees a 504


class FaultSettings(BaseModel):
    """The body of ``POST /_sandbox/faults`` (omitted fields reset to these defaults)."""

    latency_ms: int = Field(default=0, ge=0, description="Added before every Horizon request.")
    submit_503_before_apply: int = Field(
        default=0, ge=0, description="The next N submissions answer 503 and apply nothing."
    )
    submit_504_after_apply: int = Field(
        default=0, ge=0, description="The next N submissions are applied, then answer 504."
    )
    stream_drop_after_events: int | None = Field(
        default=None, ge=0, description="Cut a payments stream after N records."
    )
    stream_drops: int = Field(default=1, ge=0, description="How many stream connections to cut.")
    stream_drop_mode: Literal["abort", "close"] = Field(
        default="abort",
        description="abort: the connection breaks mid-stream (the client sees a payload "
        "error); close: the response ends cleanly and an EventSource reconnects by itself.",
    )


@dataclass(frozen=True)
class StreamDrop:
    after_events: int
    mode: Literal["abort", "close"]


class Faults:
    """Thread-safe: armed from the test thread, consumed on the server's event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings.model_copy()

    @property
    def latency_seconds(self) -> float:
        return self._settings.latency_ms / 1000

    def arm(self, settings: FaultSettings) -> None:
        with self._lock:
            self._settings = settings.model_copy()

    def take_submit_fault(self) -> SubmitFault | None:
        with self._lock:
            if self._settings.submit_503_before_apply:
                self._settings.submit_503_before_apply -= 1
                return SubmitFault.UNAVAILABLE_BEFORE_APPLY
            if self._settings.submit_504_after_apply:
                self._settings.submit_504_after_apply -= 1
                return SubmitFault.TIMEOUT_AFTER_APPLY
            return None

    def take_stream_drop(self) -> StreamDrop | None:
        with self._lock:
            after = self._settings.stream_drop_after_events
            if after is None or self._settings.stream_drops == 0:
                return None
            self._settings.stream_drops -= 1
            return StreamDrop(after, self._settings.stream_drop_mode)
