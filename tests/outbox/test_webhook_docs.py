"""docs/webhooks.md stays true: its test vector and its stand-alone snippet match signing.py."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from billpay.outbox.signing import sign, signature_header, verify

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
SECRET, OTHER_SECRET = "whsec_doc_1", "whsec_doc_2"
BODY = b'{"id":"evt_doc","type":"payment.refunded"}'

StandaloneVerify = Callable[[bytes, str, str], bool]


def fenced_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


@pytest.fixture
def vector() -> dict[str, str]:
    [block] = [block for block in fenced_blocks("text") if "header:" in block]
    fields = (line.split(":", 1) for line in block.strip().splitlines())
    return {name.strip(): value.strip() for name, value in fields}


@pytest.fixture
def standalone_verify() -> StandaloneVerify:
    [snippet] = [block for block in fenced_blocks("python") if "import hashlib" in block]
    assert "billpay" not in snippet.replace("verify_billpay_signature", "")  # stdlib only
    assert len(snippet.strip().splitlines()) <= 12
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # noqa: S102 - our own documentation, under test
    return cast(StandaloneVerify, namespace["verify_billpay_signature"])


def test_the_documented_vector_is_what_billpay_signs(vector: dict[str, str]) -> None:
    body, timestamp = vector["body"].encode(), int(vector["header"].split(",")[0][2:])
    assert signature_header(body, [vector["secret"]], timestamp) == vector["header"]
    assert verify(body, vector["header"], [vector["secret"]], now=timestamp)
    assert not verify(body + b" ", vector["header"], [vector["secret"]], now=timestamp)


def test_the_standalone_snippet_accepts_what_billpay_signs(
    standalone_verify: StandaloneVerify,
) -> None:
    now = int(time.time())
    assert standalone_verify(BODY, sign(BODY, SECRET, now), SECRET)
    rotating = signature_header(BODY, [OTHER_SECRET, SECRET], now)
    assert standalone_verify(BODY, rotating, SECRET)
    assert standalone_verify(BODY, rotating, OTHER_SECRET)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "t=abc,v1=00",
        "t=１２３,v1=00",
        "v1=00",
        "t=1,t=2,v1=00",
        "t=123,v1=é",
    ],
)
def test_the_standalone_snippet_rejects_malformed_headers(
    standalone_verify: StandaloneVerify, header: str
) -> None:
    assert standalone_verify(BODY, header, SECRET) is False


def test_the_standalone_snippet_rejects_tampering_staleness_and_other_secrets(
    standalone_verify: StandaloneVerify,
) -> None:
    now = int(time.time())
    assert not standalone_verify(BODY + b"x", sign(BODY, SECRET, now), SECRET)
    assert not standalone_verify(BODY, sign(BODY, SECRET, now - 301), SECRET)
    assert not standalone_verify(BODY, sign(BODY, SECRET, now + 301), SECRET)
    assert not standalone_verify(BODY, sign(BODY, OTHER_SECRET, now), SECRET)
