"""Structured JSON logs with secrets and electricity tokens redacted (DESIGN §1.7, §6).

Every line goes through one redaction: billpay's own (structlog) and the libraries' (uvicorn's
errors and tracebacks, httpx's request lines with full URLs, SQLAlchemy, asyncpg), which reach
the same processors through the root logger. Known secret values (the process's configured
credentials, see ``billpay.redact.remember_secrets``) are masked wherever they appear.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.typing import Processor

from billpay.redact import redact

# Libraries whose own handlers would print around the redaction: theirs are removed and their
# records propagate to the root handler below.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "httpx")


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


def _stdlib_handler(stream: Any, shared: list[Processor]) -> logging.Handler:
    """Library records rendered like billpay's: JSON, tracebacks included, then redacted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _redact_event,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    return handler


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr; ``payment_id`` bound via contextvars appears on every line."""
    stream: Any = _CurrentStderr()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    root.addHandler(_stdlib_handler(stream, shared))
    root.setLevel(level.upper())
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            _redact_event,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
