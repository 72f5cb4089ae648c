"""Operator rules: who an operator is, signing in (throttled), sessions that end server-side.

Identities are configured: the admin of ``BILLPAY_ADMIN_TOKEN`` (passed in by the caller as
an ``Identity``) and the operators ``billpay operators add`` created, each with a token of
their own. The identity that signed in — never a name typed at sign-in — is what the
dashboard records on a resolution. Runs in the caller's transaction; never commits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.errors import InvalidOperatorName, NotFound, OperatorExists
from billpay.operators import repository as repo
from billpay.operators.tokens import hash_token, name_problem, new_token

SESSION_LIFETIME = timedelta(hours=12)
# Five wrong tokens a minute, per address and per operator name; the sixth try waits.
FAILURE_LIMIT = 5
FAILURE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Identity:
    name: str
    credential: str  # the hash of the operator's current token


def identity_for(name: str, token: str) -> Identity:
    return Identity(name, hash_token(token))


@dataclass(frozen=True)
class SignIn:
    """How a sign-in went: an identity and its session secret, a wait, or neither (refused)."""

    identity: Identity | None = None
    session_secret: str | None = None
    retry_after: int | None = None


def _keys(address: str | None, name: str | None) -> list[str]:
    keys = [f"address:{address or 'unknown'}"]
    if name is not None:
        keys.append(f"operator:{name.lower()[:100]}")
    return keys


async def _wait(session: AsyncSession, keys: list[str]) -> int | None:
    await repo.lock_keys(session, keys)
    waits = [
        wait
        for key in keys
        if (wait := await repo.seconds_until_allowed(session, key, FAILURE_LIMIT, FAILURE_WINDOW))
        is not None
    ]
    return max(1, math.ceil(max(waits))) if waits else None


async def _identity(
    session: AsyncSession, name: str | None, token: str, admin: Identity | None
) -> Identity | None:
    """The operator whose token ``token`` is (and whose name is ``name``, when given)."""
    credential = hash_token(token)
    if admin is not None and credential == admin.credential and name in (None, admin.name):
        return admin
    operator = await repo.by_token_hash(session, credential)
    if operator is None or name not in (None, operator.name):
        return None
    return Identity(operator.name, operator.token_hash)


async def sign_in(
    session: AsyncSession, name: str, token: str, address: str | None, admin: Identity | None
) -> SignIn:
    """Check the throttle, then the token; a wrong one counts against address and name.

    The throttle is checked before the token, so a throttled guess learns nothing — a
    right token is refused too until the wait is over.
    """
    keys = _keys(address, name)
    wait = await _wait(session, keys)
    if wait is not None:
        return SignIn(retry_after=wait)
    identity = await _identity(session, name, token, admin)
    if identity is None:
        await repo.record_failure(session, keys, FAILURE_WINDOW)
        return SignIn()
    secret = new_token()
    await repo.forget_old_sessions(session, SESSION_LIFETIME)
    await repo.insert_session(
        session, hash_token(secret), identity.name, identity.credential, address, SESSION_LIFETIME
    )
    return SignIn(identity=identity, session_secret=secret)


async def bearer(
    session: AsyncSession, token: str, address: str | None, admin: Identity | None
) -> SignIn:
    """An operator API call: the token names the operator; wrong ones count per address."""
    keys = _keys(address, None)
    wait = await _wait(session, keys)
    if wait is not None:
        return SignIn(retry_after=wait)
    identity = await _identity(session, None, token, admin)
    if identity is None:
        await repo.record_failure(session, keys, FAILURE_WINDOW)
    return SignIn(identity=identity)


async def session_identity(
    session: AsyncSession, secret: str, admin: Identity | None
) -> Identity | None:
    """The operator of a live session whose token has not changed since signing in."""
    found = await repo.live_session(session, hash_token(secret))
    if found is None:
        return None
    name, credential, current = found
    if admin is not None and name == admin.name:
        current = admin.credential
    return Identity(name, credential) if current == credential else None


async def end_session(session: AsyncSession, secret: str) -> None:
    await repo.revoke_session(session, hash_token(secret))


async def any_configured(session: AsyncSession, admin: Identity | None) -> bool:
    return admin is not None or await repo.count(session) > 0


# --- managing operators (CLI) ----------------------------------------------------------------


async def add(session: AsyncSession, name: str, admin_name: str) -> str:
    """A new operator; their token is returned (shown once, stored only hashed)."""
    problem = name_problem(name)
    if problem is not None:
        raise InvalidOperatorName(f"name: {problem}")
    if name == admin_name:
        raise OperatorExists(f"{name} is the admin of BILLPAY_ADMIN_TOKEN")
    token = new_token()
    if not await repo.insert(session, name, hash_token(token)):
        raise OperatorExists(f"there is already an operator named {name}")
    return token


async def rotate(session: AsyncSession, name: str) -> str:
    """A new token for ``name``; the old one stops working and their sessions end."""
    token = new_token()
    if not await repo.set_token(session, name, hash_token(token)):
        raise NotFound(f"no operator named {name} (billpay operators list)")
    await repo.revoke_sessions_of(session, name)
    return token


@dataclass(frozen=True)
class OperatorListing:
    name: str
    created_at: datetime
    rotated_at: datetime | None
    live_sessions: int


async def listing(session: AsyncSession) -> list[OperatorListing]:
    operators = await repo.all_operators(session)
    sessions = await repo.live_session_counts(session)
    return [
        OperatorListing(op.name, op.created_at, op.rotated_at, sessions.get(op.name, 0))
        for op in operators
    ]


async def live_sessions_of(session: AsyncSession, name: str) -> int:
    return (await repo.live_session_counts(session)).get(name, 0)
