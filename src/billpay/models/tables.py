"""The Core tables behind the hot-path models.

Statements on the payment path are built on these rather than on the ORM classes: an
ORM-enabled INSERT/UPDATE spends noticeably more CPU per statement for nothing we use there.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from billpay.models.attempt import PaymentAttempt
from billpay.models.event import PaymentEvent
from billpay.models.ledger import LedgerEntry
from billpay.models.payment import Payment

PAYMENTS = cast(Table, Payment.__table__)
ATTEMPTS = cast(Table, PaymentAttempt.__table__)
EVENTS = cast(Table, PaymentEvent.__table__)
ENTRIES = cast(Table, LedgerEntry.__table__)
