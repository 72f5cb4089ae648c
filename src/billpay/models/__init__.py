"""All tables, imported together so metadata (Alembic, tests) sees every one."""

from billpay.models.attempt import PaymentAttempt
from billpay.models.base import Base
from billpay.models.biller_plan import BillerPlan
from billpay.models.client import Client
from billpay.models.event import PaymentEvent
from billpay.models.ledger import LedgerAccount, LedgerEntry
from billpay.models.payment import Payment

__all__ = [
    "Base",
    "BillerPlan",
    "Client",
    "LedgerAccount",
    "LedgerEntry",
    "Payment",
    "PaymentAttempt",
    "PaymentEvent",
]
