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


def upgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_column("reason")
        batch_op.drop_column("label")
