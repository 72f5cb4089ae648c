"""How a notification send can fail, in the terms the outbox needs: try again, or give up.

Messages never quote a message body or a credential: they end up in logs and outbox rows,
and a payer's message may hold an electricity token.
"""

from __future__ import annotations


class NotificationError(Exception):
    """Base class for notification failures."""


class NotificationNotConfiguredError(NotificationError):
    """The channel has no host/URL (or no sender address) configured."""


class RetryableNotificationError(NotificationError):
    """The message may not have been delivered; send it again later with the same key.

    Covers outages, timeouts, temporary (4xx) refusals and relay misconfiguration that an
    operator can fix. The idempotency key lets the receiver drop a copy that did get through.
    """


class PermanentNotificationError(NotificationError):
    """The receiving side rejected this very message (e.g. a 5xx on the recipient); resending
    it unchanged will not help."""
