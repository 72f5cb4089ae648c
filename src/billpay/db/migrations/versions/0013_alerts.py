"""alerts: operator alert incidents, delivered through the outbox

Revision ID: 0013_alerts
Revises: 0004_stellar
Create Date: 2026-12-03 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_alerts"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
# It alters outbox_messages, which another branch creates.
depends_on: str | Sequence[str] | None = "0002_outbox"


def upgrade() -> None:
    op.create_table(
        "alert_incidents",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_incidents")),
    )
    # One open incident per alert key: several workers evaluating at once raise it once.
    op.create_index(
        "uq_alert_incidents_open_key",
        "alert_incidents",
        ["key"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("ix_alert_incidents_opened_at", "alert_incidents", ["opened_at"])

    # Alert webhooks and emails are outbox messages too (retried, logged, SSRF-guarded): they
    # name the incident instead of a payment and client.
    op.alter_column("outbox_messages", "payment_id", nullable=True)
    op.alter_column("outbox_messages", "client_id", nullable=True)
    op.add_column("outbox_messages", sa.Column("alert_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_outbox_messages_alert_id_alert_incidents"),
        "outbox_messages",
        "alert_incidents",
        ["alert_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_outbox_messages_alert_id"), "outbox_messages", ["alert_id"])
    op.create_check_constraint(
        op.f("ck_outbox_messages_addressed"),
        "outbox_messages",
        "(payment_id IS NOT NULL AND client_id IS NOT NULL) OR alert_id IS NOT NULL",
    )


def downgrade() -> None:
    op.execute("DELETE FROM outbox_messages WHERE alert_id IS NOT NULL")
    op.drop_constraint(op.f("ck_outbox_messages_addressed"), "outbox_messages", type_="check")
    op.drop_index(op.f("ix_outbox_messages_alert_id"), table_name="outbox_messages")
    op.drop_constraint(
        op.f("fk_outbox_messages_alert_id_alert_incidents"), "outbox_messages", type_="foreignkey"
    )
    op.drop_column("outbox_messages", "alert_id")
    op.alter_column("outbox_messages", "client_id", nullable=False)
    op.alter_column("outbox_messages", "payment_id", nullable=False)
    op.drop_table("alert_incidents")
