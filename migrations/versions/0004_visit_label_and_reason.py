"""Unscheduled visits and reasons: two nullable columns on visits.

``label`` holds the label of a visit added outside the protocol (series
``UNS``); planned visits keep taking theirs from the protocol (NULL here).
``reason`` holds why the visit's status last changed (missed, cancelled,
completed late...), so exports can say it without reading the audit trail.
No existing row changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not a batch copy: SQLite (3.35+) adds and drops these
# columns in place, so the table keeps its constraints exactly as they were.


def upgrade() -> None:
    op.add_column("visits", sa.Column("label", sa.String(length=200), nullable=True))
    op.add_column("visits", sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("visits", "reason")
    op.drop_column("visits", "label")
