"""How much data a bundle holds, read from its name ("1.5GB", "500MB")."""

from __future__ import annotations

import re
from decimal import Decimal

_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(tb|gb|mb)\b")
_MB_PER_UNIT = {"mb": Decimal(1), "gb": Decimal(1024), "tb": Decimal(1024 * 1024)}
MB_PER_GB = Decimal(1024)


def bundle_size_mb(name: str) -> Decimal | None:
    """The one size a bundle name states ("1.5GB", "500MB"); None when absent or several."""
    sizes = _SIZE.findall(name.lower())
    if len(sizes) != 1:
        return None
    amount, unit = sizes[0]
    return Decimal(amount) * _MB_PER_UNIT[unit]


def size_label(size_mb: Decimal) -> str:
    """``1024`` → ``1GB``, ``1536`` → ``1.5GB``, ``500`` → ``500MB``, ``1500`` → ``1500MB``."""
    gigabytes = size_mb / MB_PER_GB
    if gigabytes >= 1 and gigabytes == gigabytes.quantize(Decimal("0.01")):
        return f"{_plain(gigabytes)}GB"
    return f"{_plain(size_mb)}MB"


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")
