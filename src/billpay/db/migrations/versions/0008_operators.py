"""operators: configured dashboard identities, hashed tokens, sessions, sign-in throttle

Revision ID: 0008_operators
Revises: 0004_stellar
Create Date: 2026-12-02 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_operators"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("name", name=op.f("uq_operators_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operators_token_hash")),
    )
    op.create_table(
        "operator_sessions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_name", sa.String(length=40), nullable=False),
        sa.Column("credential", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_operator_sessions_session_hash")),
    )
    op.create_index(
        op.f("ix_operator_sessions_operator_name"), "operator_sessions", ["operator_name"]
    )
    op.create_table(
        "operator_signin_failures",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_signin_failures")),
    )
    op.create_index("ix_operator_signin_failures_key_at", "operator_signin_failures", ["key", "at"])


def downgrade() -> None:
    op.drop_table("operator_signin_failures")
    op.drop_table("operator_sessions")
    op.drop_table("operators")
