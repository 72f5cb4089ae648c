"""books: what each attempt asked its provider to take (the provider's cost of a vend)

Revision ID: 0006_books
Revises: 0004_stellar
Create Date: 2026-12-02 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_books"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: attempts made before this revision did not record it (their cost is the
    # payment's amount, which is what they were booked at).
    op.add_column("payment_attempts", sa.Column("amount_kobo", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("payment_attempts", "amount_kobo")
