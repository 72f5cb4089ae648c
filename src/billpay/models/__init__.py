"""All tables, imported together so metadata (Alembic, tests) sees every one."""

from billpay.models.alert import AlertIncident
from billpay.models.api_key import ApiKey
from billpay.models.attempt import PaymentAttempt
from billpay.models.base import Base
from billpay.models.biller_plan import BillerPlan
from billpay.models.client import Client
from billpay.models.event import PaymentEvent
from billpay.models.learned_network import LearnedNetwork
from billpay.models.ledger import LedgerAccount, LedgerEntry
from billpay.models.operator import Operator, OperatorSession, OperatorSigninFailure
from billpay.models.outbox import OutboxAttempt, OutboxMessage
from billpay.models.payment import Payment
from billpay.models.paystack_refund import PaystackRefund
from billpay.models.provider_call import ProviderCallRecord
from billpay.models.provider_health import ProviderBreaker, ProviderSwitch
from billpay.models.reconciliation import LedgerAdjustment, ReconciliationRun
from billpay.models.stellar_cursor import StellarCursor
from billpay.models.stellar_deposit import StellarDeposit
from billpay.models.stellar_refund import StellarRefund
from billpay.models.webhook_inbox import WebhookInboxEvent

__all__ = [
    "AlertIncident",
    "ApiKey",
    "Base",
    "BillerPlan",
    "Client",
    "LearnedNetwork",
    "LedgerAccount",
    "LedgerAdjustment",
    "LedgerEntry",
    "Operator",
    "OperatorSession",
    "OperatorSigninFailure",
    "OutboxAttempt",
    "OutboxMessage",
    "Payment",
    "PaymentAttempt",
    "PaymentEvent",
    "PaystackRefund",
    "ProviderBreaker",
    "ProviderCallRecord",
    "ProviderSwitch",
    "ReconciliationRun",
    "StellarCursor",
    "StellarDeposit",
    "StellarRefund",
    "WebhookInboxEvent",
]
