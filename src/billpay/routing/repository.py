"""Every statement on provider health: breakers, operator switches, and the attempts behind them.

The worker reads these per routing decision, so they run straight on asyncpg (``billpay.db.raw``)
inside the caller's unit of work. Only live payments speak about a provider's health: a test-mode
payment went to a simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw


@dataclass(frozen=True)
class BreakerRow:
    provider: str
    biller: str  # '' = the provider overall
    state: str
    reason: str | None
    since: datetime
    open_until: datetime | None


@dataclass(frozen=True)
class SwitchRow:
    provider: str
    biller: str  # '' = every biller
    enabled: bool
    actor: str
    reason: str
    changed_at: datetime


@dataclass(frozen=True)
class OutcomeFigures:
    provider: str
    biller: str | None  # None = the provider overall
    succeeded: int
    failed: int
    unknown: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None


async def _fetch(session: AsyncSession, sql: str, *args: Any) -> list[Any]:
    return list(await (await raw.connection(session)).fetch(sql, *args))


async def breakers(session: AsyncSession) -> list[BreakerRow]:
    rows = await _fetch(
        session, "SELECT provider, biller, state, reason, since, open_until FROM provider_breakers"
    )
    return [BreakerRow(**dict(row)) for row in rows]


async def switches(session: AsyncSession) -> list[SwitchRow]:
    rows = await _fetch(
        session,
        "SELECT provider, biller, enabled, actor, reason, changed_at FROM provider_switches",
    )
    return [SwitchRow(**dict(row)) for row in rows]


async def outcome_figures(session: AsyncSession, since: datetime) -> list[OutcomeFigures]:
    """Per provider and per provider×biller: live attempts made since ``since`` that reached an
    outcome (as it stands now), with their last call's latency."""
    rows = await _fetch(
        session,
        """
        SELECT a.provider, p.biller,
               count(*) FILTER (WHERE a.outcome = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE a.outcome = 'failed') AS failed,
               count(*) FILTER (WHERE a.outcome = 'unknown') AS unknown,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY a.last_latency_ms) AS p50,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY a.last_latency_ms) AS p95,
               GROUPING(p.biller) AS overall
        FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
        WHERE a.created_at >= $1 AND p.livemode
          AND a.outcome IN ('succeeded', 'failed', 'unknown')
        GROUP BY GROUPING SETS ((a.provider), (a.provider, p.biller))
        """,
        since,
    )
    return [
        OutcomeFigures(
            provider=row["provider"],
            biller=None if row["overall"] else row["biller"],
            succeeded=row["succeeded"],
            failed=row["failed"],
            unknown=row["unknown"],
            latency_p50_ms=row["p50"],
            latency_p95_ms=row["p95"],
        )
        for row in rows
    ]


async def recent_verdicts(
    session: AsyncSession, provider: str, biller: str, since: datetime, limit: int
) -> list[tuple[bool, str | None]]:
    """(failed?, provider status) of the provider's latest verdicts on live attempts made
    since ``since``, newest first; ``biller`` '' for every biller.

    A verdict is an attempt's definite outcome, or a purchase or requery call that got no
    usable answer (a timeout, a broken connection, a 5xx, a body that is not JSON): what an
    outage looks like, though the payment itself stays unknown and is requeried."""
    rows = await _fetch(
        session,
        """
        SELECT failed, provider_status FROM (
            SELECT a.outcome = 'failed' AS failed, a.provider_status, a.finished_at AS at
            FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
            WHERE a.provider = $1 AND ($2 = '' OR p.biller = $2) AND p.livemode
              AND a.created_at >= $3 AND a.finished_at >= $3
              AND a.outcome IN ('succeeded', 'failed')
            UNION ALL
            SELECT true, coalesce(c.error, 'HTTP ' || c.http_status), c.started_at
            FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
            JOIN provider_calls c ON c.attempt_id = a.id
            WHERE a.provider = $1 AND ($2 = '' OR p.biller = $2) AND p.livemode
              AND a.created_at >= $3 AND c.started_at >= $3
              AND a.outcome IS DISTINCT FROM 'failed'  -- counted once, as the attempt
              AND c.kind IN ('purchase', 'requery')
              AND (c.delivery = 'sent_unknown' OR c.http_status >= 500
                   OR (c.delivery = 'answered' AND c.response IS NULL))
        ) verdicts
        ORDER BY at DESC LIMIT $4
        """,
        provider,
        biller,
        since,
        limit,
    )
    return [(row["failed"], row["provider_status"]) for row in rows]


async def open_breaker(
    session: AsyncSession, provider: str, biller: str, reason: str, open_until: datetime
) -> bool:
    """Open a closed (or absent) breaker; False when another worker opened it first."""
    opened = await (await raw.connection(session)).fetchval(
        """
        INSERT INTO provider_breakers (provider, biller, state, reason, since, open_until)
        VALUES ($1, $2, 'open', $3, now(), $4)
        ON CONFLICT (provider, biller) DO UPDATE
            SET state = 'open', reason = EXCLUDED.reason, since = now(),
                open_until = EXCLUDED.open_until, updated_at = now()
            WHERE provider_breakers.state = 'closed'
        RETURNING since
        """,
        provider,
        biller,
        reason,
        open_until,
    )
    return opened is not None


async def take_trial(
    session: AsyncSession, provider: str, biller: str, now: datetime, trial_ends: datetime
) -> datetime | None:
    """Take the one half-open trial (the cool-down is over, no live trial): its start, or None
    when another worker holds it."""
    started: datetime | None = await (await raw.connection(session)).fetchval(
        """
        UPDATE provider_breakers
        SET state = 'half_open', since = $3, open_until = $4, updated_at = now()
        WHERE provider = $1 AND biller = $2 AND state IN ('open', 'half_open')
          AND open_until <= $3
        RETURNING since
        """,
        provider,
        biller,
        now,
        trial_ends,
    )
    return started


async def settle_trial(
    session: AsyncSession,
    provider: str,
    biller: str,
    trial_started: datetime,
    state: str,
    reason: str,
    open_until: datetime | None,
) -> None:
    """The trial's verdict, unless its leave lapsed and a newer trial owns the breaker."""
    await (await raw.connection(session)).execute(
        """
        UPDATE provider_breakers
        SET state = $4, reason = $5, since = now(), open_until = $6, updated_at = now()
        WHERE provider = $1 AND biller = $2 AND state = 'half_open' AND since = $3
        """,
        provider,
        biller,
        trial_started,
        state,
        reason,
        open_until,
    )


async def set_switch(
    session: AsyncSession, provider: str, biller: str, enabled: bool, actor: str, reason: str
) -> SwitchRow:
    row = await (await raw.connection(session)).fetchrow(
        """
        INSERT INTO provider_switches (provider, biller, enabled, actor, reason, changed_at)
        VALUES ($1, $2, $3, $4, $5, now())
        ON CONFLICT (provider, biller) DO UPDATE
            SET enabled = EXCLUDED.enabled, actor = EXCLUDED.actor, reason = EXCLUDED.reason,
                changed_at = now()
        RETURNING provider, biller, enabled, actor, reason, changed_at
        """,
        provider,
        biller,
        enabled,
        actor,
        reason,
    )
    assert row is not None  # an upsert always returns its row
    return SwitchRow(**dict(row))
