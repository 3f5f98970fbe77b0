"""Site calendars: closed weekdays, public holidays, closing dates, capacity.

Adds two columns to sites (existing sites: open every day, no holidays) and two
tables; no existing row changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_capacity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("per_day", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_capacity_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_capacity")),
        sa.UniqueConstraint("site_id", "kind", name="uq_site_capacity_site_kind"),
    )
    op.create_table(
        "site_closures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_closures_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_closures")),
    )
    with op.batch_alter_table("site_closures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_closures_site_id"), ["site_id"], unique=False)

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("closed_weekdays", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("holidays", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("holidays")
        batch_op.drop_column("closed_weekdays")

    with op.batch_alter_table("site_closures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_closures_site_id"))

    op.drop_table("site_closures")
    op.drop_table("site_capacity")
