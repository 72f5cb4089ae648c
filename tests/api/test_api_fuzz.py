"""Schemathesis over the whole OpenAPI spec, against the API on a real uvicorn (so the body
limits and the transport are the real ones), with a valid API key and without one: no
request it generates (valid or deliberately invalid) gets a 5xx, and every response's status,
content type and body are the ones the spec documents for that route.

Bounded for CI: a fixed number of examples per operation and mode (``FUZZ_EXAMPLES``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billpay.app import create_app
from billpay.bootstrap import build_state
from billpay.config import Settings
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def served(settings: Settings, state: AppState) -> Iterator[ThreadedServer]:
    """The API on its own thread and event loop, with a state of its own (connections belong
    to the loop that opened them)."""
    server = ThreadedServer(
        create_app(build_state(settings, state.database_url), close_state=True)
    ).start()
    yield server
    server.stop()


def _failures(server: ThreadedServer, headers: dict[str, str], mode: GenerationMode) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    found: list[str] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            failure = _fuzz(operation, server.url, session, headers, mode)
            if failure:
                found.append(f"{operation.label}: {failure}")
    return found


def _fuzz(
    operation: Any,
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    mode: GenerationMode,
) -> str | None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: a CI failure reproduces locally
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=60)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # nothing in the operation can be made invalid (negative mode)
        return None
    except Exception as error:  # hypothesis re-raises the first failing example
        return f"{type(error).__name__}: {str(error)[:1500]}"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("with_key", [True, False], ids=["with-key", "without-key"])
def test_every_documented_operation_answers_as_documented_and_never_5xx(
    served: ThreadedServer,
    merchant: tuple[uuid.UUID, str],
    with_key: bool,
    mode: GenerationMode,
) -> None:
    headers = {"Authorization": f"Bearer {merchant[1]}"} if with_key else {}
    failures = _failures(served, headers, mode)
    assert not failures, "\n\n".join(failures)
