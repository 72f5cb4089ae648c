"""SMTP servers for the email tests: plain, and authenticating behind STARTTLS."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from notification_examples import SMTP_PASSWORD, SMTP_USER
from smtp_test_server import Certificate, SmtpServer, running_smtp_server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, used by the relay and trusted as its CA."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


def _accept_relay_user(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    expected = (SMTP_USER.encode(), SMTP_PASSWORD.encode())
    valid = isinstance(auth_data, LoginPassword) and auth_data == expected
    # handled=False lets aiosmtpd answer a failure with 535 itself.
    return AuthResult(success=valid, handled=False)


@pytest.fixture
def authenticating_smtp_server(certificate: Certificate) -> Iterator[SmtpServer]:
    """A relay like a real submission port: STARTTLS required, then AUTH required."""
    with running_smtp_server(
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=_accept_relay_user,
        auth_required=True,
    ) as server:
        yield server
