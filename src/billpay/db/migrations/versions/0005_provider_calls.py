"""provider_calls: one append-only row per HTTP exchange with a provider; attempts' last send

Existing attempts kept only their last exchange (``request``/``response``): each becomes one
call row, so a payment's history reads the same before and after this revision.

Revision ID: 0005_provider_calls
Revises: 0004_stellar
Create Date: 2026-12-02 19:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_provider_calls"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per attempt that stored an exchange. The kind is what the stored request was: a
# requery when the attempt was requeried (its last call was one), else its purchase.
_MIGRATE_LAST_CALLS = """
    INSERT INTO provider_calls (payment_id, attempt_id, provider, kind, method, url, request,
        delivery, http_status, response, response_text, error, latency_ms, started_at)
    SELECT a.payment_id, a.id, a.provider,
        CASE WHEN a.requeries > 0 THEN 'requery' ELSE 'purchase' END,
        left(COALESCE(a.request ->> 'method', ''), 10),
        left(COALESCE(a.request ->> 'path', a.request ->> 'url', ''), 500),
        a.request,
        CASE WHEN a.response IS NULL THEN 'sent_unknown' ELSE 'answered' END,
        NULL,
        CASE WHEN a.response ? 'raw_text' THEN NULL ELSE a.response END,
        a.response ->> 'raw_text',
        CASE WHEN a.response IS NULL THEN a.last_error END,
        a.last_latency_ms,
        a.updated_at
    FROM payment_attempts a
    WHERE a.request IS NOT NULL OR a.response IS NOT NULL
    ORDER BY a.updated_at
"""


def upgrade() -> None:
    op.create_table(
        "provider_calls",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("attempt_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("delivery", sa.String(length=20), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_text", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_provider_calls_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_provider_calls_attempt_id_payment_attempts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_calls")),
    )
    op.create_index(
        op.f("ix_provider_calls_payment_id"), "provider_calls", ["payment_id"], unique=False
    )
    op.create_index(
        op.f("ix_provider_calls_attempt_id"), "provider_calls", ["attempt_id"], unique=False
    )
    op.add_column(
        "payment_attempts",
        sa.Column(
            "last_sent_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
    )
    op.execute("UPDATE payment_attempts SET last_sent_at = created_at")
    op.alter_column("payment_attempts", "last_sent_at", nullable=False)
    op.execute(_MIGRATE_LAST_CALLS)
    # The call record is evidence: the database itself refuses edits and deletes.
    op.execute(
        """
        CREATE FUNCTION provider_calls_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'provider_calls is append-only';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER provider_calls_no_update_or_delete BEFORE UPDATE OR DELETE "
        "ON provider_calls FOR EACH ROW EXECUTE FUNCTION provider_calls_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER provider_calls_no_update_or_delete ON provider_calls")
    op.execute("DROP FUNCTION provider_calls_append_only()")
    op.drop_column("payment_attempts", "last_sent_at")
    op.drop_index(op.f("ix_provider_calls_attempt_id"), table_name="provider_calls")
    op.drop_index(op.f("ix_provider_calls_payment_id"), table_name="provider_calls")
    op.drop_table("provider_calls")
