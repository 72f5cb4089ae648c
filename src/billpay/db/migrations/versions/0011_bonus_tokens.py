"""bonus tokens: the further tokens of one vend (Eko's FBE token beside its main token)

Revision ID: 0011_bonus_tokens
Revises: 0004_stellar
Create Date: 2026-12-02 21:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_bonus_tokens"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "payments",
        sa.Column("bonus_tokens", sa.ARRAY(sa.String(200)), nullable=False, server_default="{}"),
    )


def downgrade() -> None:
    op.drop_column("payments", "bonus_tokens")
