"""payments: drop ix_payments_status, which ix_payments_status_created (status first) covers

Every status change of a payment writes a new entry in each of its indexes (the status is
indexed, so no update of a payment is HOT): one index fewer is one write fewer per change.

Revision ID: 0015_payments_status_index
Revises: 0004_stellar
Create Date: 2026-12-03 14:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_payments_status_index"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_payments_status", table_name="payments")


def downgrade() -> None:
    op.create_index("ix_payments_status", "payments", ["status"], unique=False)
