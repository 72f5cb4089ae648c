"""initial schema

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22 03:54:50.686063
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "biller_plans",
        sa.Column("slug", sa.String(length=150), nullable=False),
        sa.Column("bill_type", sa.String(length=20), nullable=False),
        sa.Column("biller", sa.String(length=100), nullable=False),
        sa.Column("biller_name", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("price_kobo", sa.BigInteger(), nullable=True),
        sa.Column("min_kobo", sa.BigInteger(), nullable=True),
        sa.Column("max_kobo", sa.BigInteger(), nullable=True),
        sa.Column("validity_days", sa.Integer(), nullable=True),
        sa.Column("meter_type", sa.String(length=10), nullable=True),
        sa.Column(
            "provider_meta",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_biller_plans")),
    )
    op.create_index(op.f("ix_biller_plans_bill_type"), "biller_plans", ["bill_type"], unique=False)
    op.create_index(op.f("ix_biller_plans_biller"), "biller_plans", ["biller"], unique=False)
    op.create_table(
        "clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api_key_hash", sa.String(length=64), nullable=False),
        sa.Column("api_key_prefix", sa.String(length=16), nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("webhook_secret_previous", sa.String(length=200), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("api_key_hash", name=op.f("uq_clients_api_key_hash")),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("balance_kobo", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_accounts_code")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("journal_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("debit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("credit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_kobo", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(length=300), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("amount_kobo > 0", name=op.f("ck_ledger_entries_amount_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id",
            name=op.f("ck_ledger_entries_distinct_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_entries_credit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_entries_debit_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        op.f("ix_ledger_entries_credit_account_id"),
        "ledger_entries",
        ["credit_account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ledger_entries_debit_account_id"),
        "ledger_entries",
        ["debit_account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ledger_entries_journal_id"), "ledger_entries", ["journal_id"], unique=False
    )
    op.create_index(
        op.f("ix_ledger_entries_payment_id"), "ledger_entries", ["payment_id"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("short_id", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("request_reference", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("bill_type", sa.String(length=20), nullable=False),
        sa.Column("biller", sa.String(length=100), nullable=False),
        sa.Column("plan", sa.String(length=150), nullable=False),
        sa.Column("plan_name", sa.String(length=300), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("customer_name", sa.String(length=300), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("meter_type", sa.String(length=10), nullable=True),
        sa.Column("subscription_type", sa.String(length=10), nullable=True),
        sa.Column("validity_days", sa.BigInteger(), nullable=True),
        sa.Column("amount_kobo", sa.BigInteger(), nullable=False),
        sa.Column("fee_kobo", sa.BigInteger(), nullable=False),
        sa.Column("total_kobo", sa.BigInteger(), nullable=False),
        sa.Column("funding_method", sa.String(length=20), nullable=False),
        sa.Column("funding_instructions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("funding_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("provider_transaction_id", sa.String(length=200), nullable=True),
        sa.Column("token", sa.String(length=200), nullable=True),
        sa.Column("units", sa.String(length=100), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("amount_kobo > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("fee_kobo >= 0", name=op.f("ck_payments_fee_not_negative")),
        sa.CheckConstraint(
            "total_kobo = amount_kobo + fee_kobo", name=op.f("ck_payments_total_is_amount_plus_fee")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_payments_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("client_id", "request_reference", name="uq_payments_client_reference"),
        sa.UniqueConstraint("short_id", name=op.f("uq_payments_short_id")),
    )
    op.create_index(
        "ix_payments_client_created", "payments", ["client_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_payments_awaiting_expiry",
        "payments",
        ["funding_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'awaiting_funds'"),
    )
    op.create_index(
        "ix_payments_due",
        "payments",
        ["next_run_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'processing') AND next_run_at IS NOT NULL"),
    )
    op.create_index(op.f("ix_payments_status"), "payments", ["status"], unique=False)
    op.create_index(
        "ix_payments_status_created", "payments", ["status", "created_at"], unique=False
    )
    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_reference", sa.String(length=100), nullable=False),
        sa.Column("route_reason", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("provider_status", sa.String(length=100), nullable=True),
        sa.Column("provider_transaction_id", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sends", sa.Integer(), server_default="0", nullable=False),
        sa.Column("requeries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("last_latency_ms", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_attempts_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint("payment_id", "number", name="uq_attempts_payment_number"),
        sa.UniqueConstraint(
            "provider", "provider_reference", name="uq_attempts_provider_reference"
        ),
    )
    op.create_index(
        op.f("ix_payment_attempts_payment_id"), "payment_attempts", ["payment_id"], unique=False
    )
    op.create_table(
        "payment_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_events_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
    )
    op.create_index(
        op.f("ix_payment_events_payment_id"), "payment_events", ["payment_id"], unique=False
    )

    # payment_events is append-only: the database itself refuses edits and deletes.
    op.execute(
        """
        CREATE FUNCTION payment_events_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'payment_events is append-only';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER payment_events_no_update_or_delete BEFORE UPDATE OR DELETE "
        "ON payment_events FOR EACH ROW EXECUTE FUNCTION payment_events_append_only()"
    )
    op.create_check_constraint(
        "status_known",
        "payments",
        "status IN ('awaiting_funds', 'pending', 'processing', 'paid', 'refunding', "
        "'refunded', 'failed', 'expired', 'needs_review')",
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER payment_events_no_update_or_delete ON payment_events")
    op.execute("DROP FUNCTION payment_events_append_only()")

    op.drop_index(op.f("ix_payment_events_payment_id"), table_name="payment_events")
    op.drop_table("payment_events")
    op.drop_index(op.f("ix_payment_attempts_payment_id"), table_name="payment_attempts")
    op.drop_table("payment_attempts")
    op.drop_index("ix_payments_status_created", table_name="payments")
    op.drop_index(op.f("ix_payments_status"), table_name="payments")
    op.drop_index(
        "ix_payments_due",
        table_name="payments",
        postgresql_where=sa.text("status IN ('pending', 'processing') AND next_run_at IS NOT NULL"),
    )
    op.drop_index("ix_payments_client_created", table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_ledger_entries_payment_id"), table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_journal_id"), table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_debit_account_id"), table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_credit_account_id"), table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_accounts")
    op.drop_table("clients")
    op.drop_index(op.f("ix_biller_plans_biller"), table_name="biller_plans")
    op.drop_index(op.f("ix_biller_plans_bill_type"), table_name="biller_plans")
    op.drop_table("biller_plans")
