"""The Core tables behind the hot-path models.

Statements on the payment path are built on these rather than on the ORM classes: an
ORM-enabled INSERT/UPDATE spends noticeably more CPU per statement for nothing we use there.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from billpay.models.attempt import PaymentAttempt
from billpay.models.payment import Payment

PAYMENTS = cast(Table, Payment.__table__)
ATTEMPTS = cast(Table, PaymentAttempt.__table__)
