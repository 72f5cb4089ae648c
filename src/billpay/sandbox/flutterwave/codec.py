"""JSON as the Flutterwave simulator reads and writes it (providers.md §2.1, §2.6).

Flutterwave sends naira as JSON numbers that may be fractional (``500.5``): numbers are read
as ``Decimal`` so none is ever a float, and a ``Decimal`` is written back as a number literal,
which ``json.dumps`` cannot do by itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def read_json(raw: bytes) -> Any:
    """Raises ``ValueError`` when ``raw`` is not JSON."""
    return json.loads(raw, parse_float=Decimal)


def write_json(value: Any) -> bytes:
    return "".join(_pieces(value)).encode()


def _pieces(value: Any) -> list[str]:
    if isinstance(value, Decimal):
        return [_number(value)]
    if isinstance(value, Mapping):
        members = [[json.dumps(str(key)), ":", *_pieces(item)] for key, item in value.items()]
        return ["{", *_joined(members), "}"]
    if isinstance(value, list | tuple):
        return ["[", *_joined([_pieces(item) for item in value]), "]"]
    return [json.dumps(value)]


def _joined(parts: list[list[str]]) -> list[str]:
    pieces: list[str] = []
    for index, part in enumerate(parts):
        if index:
            pieces.append(",")
        pieces.extend(part)
    return pieces


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"JSON has no {value}")
    return str(value)
