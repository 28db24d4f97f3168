"""privacy branch: chained audit log + append-only triggers, grievances, account privacy settings, erased
subjects, job state

Revision ID: 0100_privacy
Revises:
Create Date: 2026-11-28 16:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from control_api.storage.types import UTCDateTime

revision: str = "0100_privacy"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("privacy",)
depends_on: str | Sequence[str] | None = "0001_core"  # grievances/account_privacy reference accounts

# Frozen copies of the trigger DDL: a later edit of control_api.audit.guard must not rewrite this revision.
GENESIS = "0" * 64
PG_TRIGGERS = (
    """
    CREATE OR REPLACE FUNCTION closerr_audit_append_only() RETURNS trigger AS $$
    BEGIN
        IF coalesce(current_setting('closerr.audit_retention', true), '') = 'on' THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION closerr_audit_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION closerr_audit_append_only()
    """,
)
SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    WHEN coalesce((SELECT open FROM audit_retention_gate WHERE id = 1), 0) = 0
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN coalesce((SELECT open FROM audit_retention_gate WHERE id = 1), 0) = 0
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END
    """,
)


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "audit_log",
        sa.Column("seq", big, autoincrement=False, nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("subject_ref", sa.String(length=67), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_tenant_seq", "audit_log", ["tenant_id", "seq"])
    op.create_index("ix_audit_log_subject_ref", "audit_log", ["subject_ref"])
    op.create_index("ix_audit_log_occurred_at", "audit_log", ["occurred_at"])
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("anchor_seq", sa.BigInteger(), nullable=False),
        sa.Column("anchor_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_retention_gate",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_retention_gate")),
    )
    op.execute(
        f"INSERT INTO audit_chain_head (id, seq, last_hash, anchor_seq, anchor_hash) "
        f"VALUES (1, 0, '{GENESIS}', 0, '{GENESIS}')"
    )
    op.execute("INSERT INTO audit_retention_gate (id, open) VALUES (1, 0)")
    for stmt in PG_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(stmt)

    op.create_table(
        "grievances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("complainant_name", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=320), nullable=False),
        sa.Column("phone_ref", sa.String(length=67), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_grievances_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grievances")),
    )
    op.create_index("ix_grievances_account_status_due", "grievances", ["account_id", "status", "due_at"])
    op.create_index(op.f("ix_grievances_phone_ref"), "grievances", ["phone_ref"])
    op.create_table(
        "account_privacy",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("content_retention_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_privacy_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_privacy")),
    )
    op.create_table(
        "erased_subjects",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("phone_ref", sa.String(length=67), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_erased_subjects_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "phone_ref", name=op.f("pk_erased_subjects")),
    )
    op.create_table(
        "privacy_jobs",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("last_started_at", UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", UTCDateTime(), nullable=True),
        sa.Column("last_result", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_privacy_jobs")),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS closerr_audit_append_only()")
    op.drop_table("privacy_jobs")
    op.drop_table("erased_subjects")
    op.drop_table("account_privacy")
    op.drop_index(op.f("ix_grievances_phone_ref"), table_name="grievances")
    op.drop_index("ix_grievances_account_status_due", table_name="grievances")
    op.drop_table("grievances")
    op.drop_table("audit_retention_gate")
    op.drop_table("audit_chain_head")
    op.drop_index("ix_audit_log_occurred_at", table_name="audit_log")
    op.drop_index("ix_audit_log_subject_ref", table_name="audit_log")
    op.drop_index("ix_audit_log_tenant_seq", table_name="audit_log")
    op.drop_table("audit_log")
