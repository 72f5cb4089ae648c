"""paystack checks: when an awaiting Paystack payment was last verified without a webhook

A check moment missed (every worker down, the database cut) is caught up at the next beat
instead of being skipped until the following moment.

Revision ID: 0010_paystack_checks
Revises: 0004_stellar
Create Date: 2026-12-02 20:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_paystack_checks"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "payments", sa.Column("funding_checked_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("payments", "funding_checked_at")
