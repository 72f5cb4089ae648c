"""What the alert tests share: the operators' signing secret and address."""

from __future__ import annotations

ALERT_SECRET = "alert-signing-secret-4f9c2e7a1b"
OPERATORS_EMAIL = "oncall@billpay.example"
