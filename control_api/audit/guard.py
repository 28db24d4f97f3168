"""Database-side enforcement that audit rows are append-only, for both backends.

PostgreSQL: a trigger raises on UPDATE/DELETE unless the transaction set ``closerr.audit_retention = 'on'``
(``set_config(..., true)`` is transaction-local, so it cannot leak into a pooled connection's next user).
SQLite: triggers raise unless the one-row ``audit_retention_gate`` is open, which only the retention job does,
inside its own transaction.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit.chain import GENESIS_HASH
from control_api.audit.tables import CHAIN_HEAD_ID

RETENTION_SETTING = "closerr.audit_retention"

POSTGRES_DDL = (
    f"""
    CREATE OR REPLACE FUNCTION closerr_audit_append_only() RETURNS trigger AS $$
    BEGIN
        IF coalesce(current_setting('{RETENTION_SETTING}', true), '') = 'on' THEN
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
    # TRUNCATE skips row triggers; a statement trigger closes that door too.
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION closerr_audit_append_only()
    """,
)
POSTGRES_DROP = (
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP FUNCTION IF EXISTS closerr_audit_append_only()",
)

SQLITE_DDL = (
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
SQLITE_DROP = ("DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete")

SEED_ROWS = (
    f"INSERT INTO audit_chain_head (id, seq, last_hash, anchor_seq, anchor_hash, keyed_from_seq) "
    f"VALUES ({CHAIN_HEAD_ID}, 0, '{GENESIS_HASH}', 0, '{GENESIS_HASH}', 1)",
    "INSERT INTO audit_retention_gate (id, open) VALUES (1, 0)",
)


def guard_ddl(dialect: str) -> tuple[str, ...]:
    return POSTGRES_DDL if dialect == "postgresql" else SQLITE_DDL


def guard_drop(dialect: str) -> tuple[str, ...]:
    return POSTGRES_DROP if dialect == "postgresql" else SQLITE_DROP


async def open_retention_gate(session: AsyncSession) -> None:
    """Lets this transaction (and only it) delete expired audit rows; closes itself at commit/rollback on
    PostgreSQL, and the caller closes it before commit on SQLite (``close_retention_gate``)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SELECT set_config('{RETENTION_SETTING}', 'on', true)"))
    else:
        await session.execute(text("UPDATE audit_retention_gate SET open = 1 WHERE id = 1"))


async def close_retention_gate(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SELECT set_config('{RETENTION_SETTING}', '', true)"))
    else:
        await session.execute(text("UPDATE audit_retention_gate SET open = 0 WHERE id = 1"))
