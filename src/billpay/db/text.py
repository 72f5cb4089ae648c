"""What Postgres cannot keep in a text or JSONB value, found before it is sent.

A NUL byte is refused by ``text`` and ``jsonb`` alike, and a lone surrogate (``"\\ud800"`` in
JSON) cannot be encoded as UTF-8 at all; either used to fail deep in the driver as a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Postgres ``numeric`` (what JSONB keeps numbers as): up to 131072 digits before the point
# and 16383 after it.
_MIN_EXPONENT, _MAX_ADJUSTED = -16383, 131072


def unstorable(value: str) -> bool:
    return _UNSTORABLE.search(value) is not None


def storable_number(value: float | Decimal) -> bool:
    """Finite, and within what ``numeric`` holds (JSON's ``NaN`` or ``1e999999`` are not)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if not value.is_finite():
        return False
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return exponent >= _MIN_EXPONENT and (value.is_zero() or value.adjusted() < _MAX_ADJUSTED)


def first_unstorable(value: Any, path: str = "") -> str | None:
    """The dotted path (``data.items.0.name``) of the first string, key or number in
    ``value`` that Postgres cannot store, or None. ``path`` names ``value`` itself."""
    pending: list[tuple[str, Any]] = [(path, value)]
    while pending:  # iterative: bodies are depth-limited, but this need not rely on it
        where, item = pending.pop()
        if isinstance(item, str):
            if unstorable(item):
                return where or "body"
        elif isinstance(item, float | Decimal):
            if not storable_number(item):
                return where or "body"
        elif isinstance(item, Mapping):
            for key, child in item.items():
                name = _join(where, str(key))
                if unstorable(str(key)):
                    return name
                pending.append((name, child))
        elif isinstance(item, list | tuple):
            pending.extend(_indexed(where, item))
    return None


def _indexed(where: str, items: Iterable[Any]) -> list[tuple[str, Any]]:
    return [(_join(where, str(index)), child) for index, child in enumerate(items)]


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def json_text(value: Any) -> str:
    """``value`` as JSON text for a JSONB column, each ``Decimal`` written as the number it
    is (``500.5``): JSONB keeps numbers exactly, where ``json.dumps`` would raise on it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(key))}:{json_text(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    return json.dumps(value, allow_nan=False)
