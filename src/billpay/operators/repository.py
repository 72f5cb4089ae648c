"""SQL of operators, their sessions and their failed sign-ins."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.models import Operator, OperatorSession, OperatorSigninFailure


async def by_name(session: AsyncSession, name: str) -> Operator | None:
    return await session.scalar(select(Operator).where(Operator.name == name))


async def by_token_hash(session: AsyncSession, token_hash: str) -> Operator | None:
    return await session.scalar(select(Operator).where(Operator.token_hash == token_hash))


async def all_operators(session: AsyncSession) -> list[Operator]:
    return list((await session.scalars(select(Operator).order_by(Operator.name))).all())


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Operator)) or 0)


async def insert(session: AsyncSession, name: str, token_hash: str) -> bool:
    """False when the name is taken."""
    result = await session.execute(
        pg_insert(Operator)
        .values(name=name, token_hash=token_hash)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Operator.id)
    )
    return result.scalar_one_or_none() is not None


async def set_token(session: AsyncSession, name: str, token_hash: str) -> bool:
    result = await session.execute(
        update(Operator)
        .where(Operator.name == name)
        .values(token_hash=token_hash, rotated_at=func.now())
        .returning(Operator.id)
    )
    return result.scalar_one_or_none() is not None


# --- sessions --------------------------------------------------------------------------------


async def insert_session(
    session: AsyncSession,
    session_hash: str,
    operator_name: str,
    credential: str,
    address: str | None,
    lifetime: timedelta,
) -> None:
    await session.execute(
        pg_insert(OperatorSession).values(
            session_hash=session_hash,
            operator_name=operator_name,
            credential=credential,
            address=address,
            expires_at=func.now() + literal(lifetime),
        )
    )


async def live_session(
    session: AsyncSession, session_hash: str
) -> tuple[str, str, str | None] | None:
    """(operator name, credential signed in with, the operator's current token hash) of an
    unrevoked, unexpired session; the token hash is None for an operator without a row."""
    row = (
        await session.execute(
            select(OperatorSession.operator_name, OperatorSession.credential, Operator.token_hash)
            .outerjoin(Operator, Operator.name == OperatorSession.operator_name)
            .where(
                OperatorSession.session_hash == session_hash,
                OperatorSession.revoked_at.is_(None),
                OperatorSession.expires_at > func.now(),
            )
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def revoke_session(session: AsyncSession, session_hash: str) -> None:
    await session.execute(
        update(OperatorSession)
        .where(OperatorSession.session_hash == session_hash, OperatorSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoke_sessions_of(session: AsyncSession, operator_name: str) -> None:
    await session.execute(
        update(OperatorSession)
        .where(OperatorSession.operator_name == operator_name, OperatorSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def live_session_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OperatorSession.operator_name, func.count())
        .where(OperatorSession.revoked_at.is_(None), OperatorSession.expires_at > func.now())
        .group_by(OperatorSession.operator_name)
    )
    return {name: int(n) for name, n in rows.tuples()}


async def forget_old_sessions(session: AsyncSession, older_than: timedelta) -> None:
    await session.execute(
        delete(OperatorSession).where(OperatorSession.expires_at < func.now() - older_than)
    )


# --- failed sign-ins -------------------------------------------------------------------------

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_RECENT_FAILURES = text(
    """
    SELECT count(*) AS failures,
           extract(epoch FROM min(at) + make_interval(secs => :window) - now()) AS wait
    FROM (
        SELECT at FROM operator_signin_failures
        WHERE key = :key AND at > now() - make_interval(secs => :window)
        ORDER BY at DESC LIMIT :limit
    ) AS recent
    """
)


async def lock_keys(session: AsyncSession, keys: list[str]) -> None:
    """Serialize sign-ins on the same keys until this transaction ends (sorted: no deadlock),
    so concurrent guesses cannot all read the count before any of them adds to it."""
    for key in sorted(set(keys)):
        await session.execute(_LOCK, {"key": key})


async def seconds_until_allowed(
    session: AsyncSession, key: str, limit: int, window: timedelta
) -> float | None:
    """None while ``key`` has fewer than ``limit`` failures in ``window``; else how long until
    the oldest of the last ``limit`` leaves it."""
    row = (
        await session.execute(
            _RECENT_FAILURES, {"key": key, "window": window.total_seconds(), "limit": limit}
        )
    ).one()
    if int(row.failures) < limit:
        return None
    return float(row.wait)


async def record_failure(session: AsyncSession, keys: list[str], window: timedelta) -> None:
    await session.execute(pg_insert(OperatorSigninFailure), [{"key": key} for key in keys])
    await session.execute(
        delete(OperatorSigninFailure).where(
            OperatorSigninFailure.key.in_(keys),
            OperatorSigninFailure.at < func.now() - literal(window),
        )
    )
