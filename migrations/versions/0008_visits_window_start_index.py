"""Index scheduled visits by site and window start: what is due on a day.

"Due on a day" asks for scheduled visits whose window holds the day. With
only the window-end index, the database walks every scheduled visit of the
site whose window ends on or after the day: all of its future visits, a
number that grows with the trial. Walking those whose window *starts* on or
before the day instead touches the visits due now and the few overdue ones
(issue 18: ``due`` on 1 M visits 8.7 → 2.8 ms for the query itself here).
Partial (scheduled visits only) and without the status column, so that
SQLite's planner, which has no statistics, still takes the target index
for ``upcoming`` and the window-end index for ``overdue``: a full index on
(site, status, window start) would win those by its two equality columns.
No row changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


NAME = "ix_visits_scheduled_site_window_start"
SCHEDULED = "status = 'scheduled'"


def upgrade() -> None:
    op.create_index(
        NAME,
        "visits",
        ["site_id", "window_start"],
        sqlite_where=sa.text(SCHEDULED),
        postgresql_where=sa.text(SCHEDULED),
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="visits")
