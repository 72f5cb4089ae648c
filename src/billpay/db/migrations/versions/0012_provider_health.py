"""provider health: circuit breakers shared by every worker, operators' provider switches

Revision ID: 0012_provider_health
Revises: 0004_stellar
Create Date: 2026-12-03 07:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_provider_health"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "provider_breakers",
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("biller", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("open_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "biller", name=op.f("pk_provider_breakers")),
    )
    op.create_table(
        "provider_switches",
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("biller", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "biller", name=op.f("pk_provider_switches")),
    )
    # Health reads the attempts of the last minutes (by creation: a column never updated, so
    # the index costs the attempts' frequent updates nothing).
    op.create_index("ix_payment_attempts_created_at", "payment_attempts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_payment_attempts_created_at", table_name="payment_attempts")
    op.drop_table("provider_switches")
    op.drop_table("provider_breakers")
