"""learned_networks: the network a phone number is on, as billpay learned it

Revision ID: 0014_learned_networks
Revises: 0004_stellar
Create Date: 2026-12-03 07:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_learned_networks"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learned_networks",
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("learned_from", sa.String(length=30), nullable=False),
        sa.Column("evidence", sa.String(length=300), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column(
            "learned_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("livemode", "phone"),
    )


def downgrade() -> None:
    op.drop_table("learned_networks")
