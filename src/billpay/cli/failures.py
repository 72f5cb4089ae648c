"""How a command fails: one line on stderr and a documented exit status; a traceback only with
``--debug``. Kept free of heavy imports: every command, ``--help`` included, loads this."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import typer
from typer.main import get_command

# Exit statuses (the README's table). ``billpay pay`` adds its own, from 3 up (cli/client.py).
OK = 0
ERROR = 1  # refused or impossible: an unknown id, a bad amount, an unreachable API/database
USAGE = 2  # the command line itself: an unknown option, a bad date or id
INTERRUPTED = 130  # Ctrl-C


class CommandFailed(Exception):
    """A failure the user can act on, already worded for them."""

    def __init__(self, message: str, exit_code: int = ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass
class Options:
    """The global ``--debug`` / ``--verbose`` flags, set by the app's callback."""

    debug: bool = False
    verbose: bool = False


options = Options()


def say_error(message: str) -> None:
    """One line on stderr, as every failure is reported."""
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    sys.stderr.flush()


def describe(exc: BaseException) -> tuple[str, int] | None:
    """A failure the user caused or can fix, worded in one line; None for a bug."""
    if isinstance(exc, CommandFailed):
        return exc.message, exc.exit_code
    configuration_error = _loaded_class("billpay.config", "ConfigurationError")
    if configuration_error is not None and isinstance(exc, configuration_error):
        return str(exc), USAGE
    settings_error = _loaded_class("pydantic_core", "ValidationError")
    if settings_error is not None and isinstance(exc, settings_error):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()  # type: ignore[attr-defined]
        )
        return f"invalid configuration: {problems}", USAGE
    # Lazy: these modules are loaded by the command that raised, never by ``--help``.
    api_error = _loaded_class("billpay.errors.base", "ApiError")
    if api_error is not None and isinstance(exc, api_error):
        return str(getattr(exc, "message", exc)), ERROR
    connect_errors = tuple(
        cls
        for cls in (
            _loaded_class("httpx", "ConnectError"),
            _loaded_class("httpx", "ConnectTimeout"),
        )
        if cls is not None
    )
    if connect_errors and isinstance(exc, connect_errors):
        return f"cannot connect to {_request_url(exc)}: {exc or type(exc).__name__}", ERROR
    if isinstance(exc, ConnectionRefusedError | OSError) and _is_database_error(exc):
        return f"cannot connect to the database: {exc}", ERROR
    return None


def _loaded_class(module: str, name: str) -> type[BaseException] | None:
    loaded = sys.modules.get(module)
    found = getattr(loaded, name, None) if loaded is not None else None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def _request_url(exc: BaseException) -> str:
    try:
        return str(exc.request.url)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return "the server"


def _is_database_error(exc: BaseException) -> bool:
    # asyncpg and SQLAlchemy wrap a refused connection in OSError (socket path or port).
    return "postgres" in repr(exc).lower() or ".s.PGSQL" in str(exc) or "5432" in str(exc)


def _usage_message(exc: typer.TyperException) -> str:
    """Click's message, which names the parameter; typer words a bad value as pydantic does
    ("Value error, …"): that prefix says nothing to a user."""
    return exc.format_message().replace("Value error, ", "")


class Cli(typer.Typer):
    """A Typer app whose failures are one line on stderr and an exit status."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        command = get_command(self)
        kwargs["standalone_mode"] = False  # failures are ours to word
        try:
            result = command.main(*args, **kwargs)
        except typer.Abort:
            say_error("interrupted")
            sys.exit(INTERRUPTED)
        except typer.TyperException as exc:  # typer's click: a usage error, a bad value
            if options.debug:
                raise
            say_error(_usage_message(exc))
            sys.exit(getattr(exc, "exit_code", USAGE))
        except KeyboardInterrupt:
            sys.exit(INTERRUPTED)
        except Exception as exc:
            described = describe(exc)
            if described is None or options.debug:
                raise
            message, code = described
            say_error(message)
            sys.exit(code)
        sys.exit(result if isinstance(result, int) else OK)
