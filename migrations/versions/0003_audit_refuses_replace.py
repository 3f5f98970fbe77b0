"""The audit trail refuses INSERT OR REPLACE too.

SQLite's REPLACE conflict resolution deletes the old row without firing DELETE
triggers, so an INSERT that would replace an existing audit row is refused
before it happens. (On PostgreSQL, INSERT ... ON CONFLICT DO UPDATE is an
UPDATE, which the existing trigger refuses.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            """CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
               WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
               BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"""
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_no_replace")
