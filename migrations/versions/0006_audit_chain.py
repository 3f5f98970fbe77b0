"""A tamper-evident audit trail: each row's SHA-256 hash chains it to the one before.

Existing rows get their hashes here, in id order. On SQLite the table is
rebuilt with AUTOINCREMENT, so an id is never handed out twice (not even the
id of a row removed behind planner's back): the append-only triggers of 0001
and 0003 are dropped for the copy and created again exactly as they were.
On PostgreSQL the ids already come from a sequence; the column is added and
filled with the row trigger disabled inside this transaction, and a
statement-level trigger now refuses ``TRUNCATE audit`` too.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from planner.core.chain import GENESIS, row_hash

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Exactly as 0001 and 0003 created them.
_SQLITE_GUARDS = {
    "audit_no_update": """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    "audit_no_delete": """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    "audit_no_replace": """CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
               WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
               BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
}
_POSTGRES_NO_TRUNCATE = """CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
       FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"""

_VALUES = ("id", "at", "actor", "action", "participant", "visit", "before", "after", "reason")


def _stub(name: str, *, chained: bool) -> sa.TableClause:
    columns = [
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime()),
        *(sa.column(field, sa.Text()) for field in _VALUES[2:]),
    ]
    if chained:
        columns.append(sa.column("hash", sa.String(64)))
    return sa.table(name, *columns)


def _chained_rows() -> list[dict[str, Any]]:
    """Every existing row with its hash, in id order."""
    audit = _stub("audit", chained=False)
    rows = op.get_bind().execute(sa.select(audit).order_by(audit.c.id)).mappings()
    previous = GENESIS
    chained = []
    for row in rows:
        values = dict(row)
        values["hash"] = previous = row_hash(previous, values)
        chained.append(values)
    return chained


def _audit_table(name: str, *, chained: bool) -> None:
    columns = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("participant", sa.String(length=64), nullable=True),
        sa.Column("visit", sa.String(length=120), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    ]
    if chained:
        columns.append(sa.Column("hash", sa.String(length=64), nullable=False))
    op.create_table(
        name,
        *columns,
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
        sqlite_autoincrement=chained,
    )


def _rebuild_sqlite(*, chained: bool) -> None:
    """Copy the audit table into a new one (with or without the chain)."""
    for trigger in _SQLITE_GUARDS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    rows = _chained_rows() if chained else _plain_rows()
    _audit_table("audit_rebuilt", chained=chained)
    if rows:
        op.bulk_insert(_stub("audit_rebuilt", chained=chained), rows)
    op.drop_index("ix_audit_participant", table_name="audit")
    op.drop_table("audit")
    op.rename_table("audit_rebuilt", "audit")
    op.create_index("ix_audit_participant", "audit", ["participant"], unique=False)
    for statement in _SQLITE_GUARDS.values():
        op.execute(statement)


def _plain_rows() -> list[dict[str, Any]]:
    audit = _stub("audit", chained=False)
    query = sa.select(audit).order_by(audit.c.id)
    return [dict(row) for row in op.get_bind().execute(query).mappings()]


def _fill_hashes(dialect: str) -> None:
    """Add the hash column and fill it (the row trigger is off meanwhile)."""
    op.add_column("audit", sa.Column("hash", sa.String(length=64), nullable=True))
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_change")
    audit = _stub("audit", chained=True)
    for row in _chained_rows():
        op.execute(audit.update().where(audit.c.id == row["id"]).values(hash=row["hash"]))
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_change")
        op.execute(_POSTGRES_NO_TRUNCATE)
    op.alter_column("audit", "hash", existing_type=sa.String(length=64), nullable=False)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _rebuild_sqlite(chained=True)
    else:
        _fill_hashes(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _rebuild_sqlite(chained=False)
        return
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_no_truncate ON audit")
    op.drop_column("audit", "hash")
