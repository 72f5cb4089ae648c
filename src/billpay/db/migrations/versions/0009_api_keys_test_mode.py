"""api keys: several per client, revocable, live or test mode; payments carry their mode

A merchant's test mode is a twin client (``clients.live_client_id`` names the merchant) with
its own balance, payments and webhook settings; its keys are ``bp_test_…``. Keys move from
``clients`` to ``api_keys``; the keys that existed before are live.

Revision ID: 0009_api_keys_test_mode
Revises: 0004_stellar
Create Date: 2026-12-02 19:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_api_keys_test_mode"
down_revision: str | None = "0004_stellar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "clients",
        sa.Column("livemode", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("clients", sa.Column("live_client_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_clients_live_client_id_clients"), "clients", "clients", ["live_client_id"], ["id"]
    )
    op.create_unique_constraint(op.f("uq_clients_live_client_id"), "clients", ["live_client_id"])
    op.create_check_constraint(
        op.f("ck_clients_test_twin_has_merchant"),
        "clients",
        "livemode = (live_client_id IS NULL)",
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_api_keys_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_client_id"), "api_keys", ["client_id"])
    op.execute(
        "INSERT INTO api_keys (id, client_id, name, prefix, key_hash, livemode, created_at) "
        "SELECT gen_random_uuid(), id, 'first key', api_key_prefix, api_key_hash, true, created_at "
        "FROM clients"
    )
    op.drop_constraint(op.f("uq_clients_api_key_hash"), "clients", type_="unique")
    op.drop_column("clients", "api_key_hash")
    op.drop_column("clients", "api_key_prefix")
    op.add_column(
        "payments",
        sa.Column("livemode", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    # Only a live client's first key can go back to the single-key columns.
    op.drop_column("payments", "livemode")
    op.add_column("clients", sa.Column("api_key_hash", sa.String(length=64), nullable=True))
    op.add_column("clients", sa.Column("api_key_prefix", sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE clients c SET api_key_hash = k.key_hash, api_key_prefix = left(k.prefix, 16) "
        "FROM (SELECT DISTINCT ON (client_id) client_id, key_hash, prefix FROM api_keys "
        "      WHERE revoked_at IS NULL AND livemode ORDER BY client_id, created_at) k "
        "WHERE k.client_id = c.id"
    )
    op.drop_table("api_keys")
    op.execute("DELETE FROM clients WHERE NOT livemode")
    op.execute("UPDATE clients SET api_key_hash = md5(id::text) WHERE api_key_hash IS NULL")
    op.execute("UPDATE clients SET api_key_prefix = '' WHERE api_key_prefix IS NULL")
    op.alter_column("clients", "api_key_hash", nullable=False)
    op.alter_column("clients", "api_key_prefix", nullable=False)
    op.create_unique_constraint(op.f("uq_clients_api_key_hash"), "clients", ["api_key_hash"])
    op.drop_constraint(op.f("ck_clients_test_twin_has_merchant"), "clients", type_="check")
    op.drop_constraint(op.f("uq_clients_live_client_id"), "clients", type_="unique")
    op.drop_constraint(op.f("fk_clients_live_client_id_clients"), "clients", type_="foreignkey")
    op.drop_column("clients", "live_client_id")
    op.drop_column("clients", "livemode")
