"""Structured JSON logs with secrets and electricity tokens redacted (DESIGN §1.7, §6)."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from billpay.redact import redact


def _redact_event(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    redacted: MutableMapping[str, Any] = redact(dict(event_dict))
    return redacted


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written (it is swapped by test runners)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr; ``payment_id`` bound via contextvars appears on every line."""
    stream: Any = _CurrentStderr()
    logging.basicConfig(format="%(message)s", stream=stream, level=level.upper(), force=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_event,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
