"""An SMTP server (aiosmtpd ``Controller``) on a free loopback port that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from notification_examples import REFUSED_PERMANENTLY, REFUSED_TEMPORARILY, SENDER

from billpay.notifications import NotificationSettings
from billpay.sandbox.server import free_port


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it accepts, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == REFUSED_PERMANENTLY:
            return "550 5.1.1 mailbox unavailable"
        if address == REFUSED_TEMPORARILY:
            return "451 4.7.1 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    def settings(self, **overrides: Any) -> NotificationSettings:
        values: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_from": SENDER,
            "smtp_timeout_seconds": 5.0,
            **overrides,
        }
        return NotificationSettings(_env_file=None, **values)

    def only_message(self) -> EmailMessage:
        assert len(self.inbox.messages) == 1
        return self.inbox.messages[0]


@contextmanager
def running_smtp_server(**smtp_options: Any) -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    try:
        yield SmtpServer(inbox, port)
    finally:
        controller.stop()


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context
