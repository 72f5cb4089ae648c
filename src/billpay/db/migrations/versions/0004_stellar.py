"""stellar: watcher cursors, deposits and refunds

Revision ID: 0004_stellar
Revises: 0001_initial
Create Date: 2026-11-23 11:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_stellar"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "stellar_cursors",
        sa.Column("account", sa.String(length=56), nullable=False),
        sa.Column("paging_token", sa.String(length=32), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_stellar_cursors")),
    )
    op.create_table(
        "stellar_deposits",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=56), nullable=False),
        sa.Column("operation_id", sa.String(length=80), nullable=False),
        sa.Column("paging_token", sa.String(length=32), nullable=True),
        sa.Column("tx_hash", sa.String(length=64), nullable=True),
        sa.Column("from_account", sa.String(length=56), nullable=True),
        sa.Column("asset_code", sa.String(length=12), nullable=True),
        sa.Column("asset_issuer", sa.String(length=56), nullable=True),
        sa.Column("amount", sa.String(length=32), nullable=True),
        sa.Column("amount_kobo", sa.BigInteger(), nullable=True),
        sa.Column("memo_type", sa.String(length=10), nullable=True),
        sa.Column("memo", sa.String(length=200), nullable=True),
        sa.Column("path_payment", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("ledger_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("funded_payment", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_stellar_deposits_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stellar_deposits")),
        sa.UniqueConstraint("operation_id", name=op.f("uq_stellar_deposits_operation_id")),
    )
    op.create_index(
        "ix_stellar_deposits_payment_id", "stellar_deposits", ["payment_id"], unique=False
    )
    op.create_index(
        "ix_stellar_deposits_attention",
        "stellar_deposits",
        ["state"],
        unique=False,
        postgresql_where=sa.text("state IN ('refund_pending', 'funded_overpaid', 'quarantined')"),
    )
    op.create_table(
        "stellar_refunds",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("deposit_id", sa.BigInteger(), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("closes_payment", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("source_account", sa.String(length=56), nullable=False),
        sa.Column("destination", sa.String(length=56), nullable=False),
        sa.Column("asset_code", sa.String(length=12), nullable=True),
        sa.Column("asset_issuer", sa.String(length=56), nullable=True),
        sa.Column("amount_kobo", sa.BigInteger(), nullable=False),
        sa.Column("memo_type", sa.String(length=10), nullable=False),
        sa.Column("memo", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("envelope_xdr", sa.Text(), nullable=True),
        sa.Column("tx_hash", sa.String(length=64), nullable=True),
        sa.Column("max_time", sa.BigInteger(), nullable=True),
        sa.Column(
            "superseded_hashes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("fee_charged_stroops", sa.BigInteger(), nullable=True),
        sa.Column("applied_ledger", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("amount_kobo > 0", name=op.f("ck_stellar_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["deposit_id"],
            ["stellar_deposits.id"],
            name=op.f("fk_stellar_refunds_deposit_id_stellar_deposits"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_stellar_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stellar_refunds")),
        sa.UniqueConstraint("cause", name=op.f("uq_stellar_refunds_cause")),
    )
    op.create_index(
        "ix_stellar_refunds_open",
        "stellar_refunds",
        ["id"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'submitting')"),
    )
    op.create_index(
        "ix_stellar_refunds_payment_id", "stellar_refunds", ["payment_id"], unique=False
    )
    op.create_index(
        op.f("ix_stellar_refunds_tx_hash"), "stellar_refunds", ["tx_hash"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_stellar_refunds_tx_hash"), table_name="stellar_refunds")
    op.drop_index("ix_stellar_refunds_payment_id", table_name="stellar_refunds")
    op.drop_index("ix_stellar_refunds_open", table_name="stellar_refunds")
    op.drop_table("stellar_refunds")
    op.drop_index("ix_stellar_deposits_attention", table_name="stellar_deposits")
    op.drop_index("ix_stellar_deposits_payment_id", table_name="stellar_deposits")
    op.drop_table("stellar_deposits")
    op.drop_table("stellar_cursors")
