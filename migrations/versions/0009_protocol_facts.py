"""Keep with each stored protocol version the facts visit records show.

A visit record takes from its protocol the series' label, kind, contact,
setting and count and the dose (:mod:`planner.core.facts`). Reading them
meant parsing the stored source with the validating protocol models: most of
a short command's time was importing and running them (issue 18). The facts
are now worked out once, when a version is stored, and kept as JSON beside
its source; this migration works them out for the versions already stored
(a stored source always parses: it was validated when stored). Stored
versions never change, so neither do their facts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.core.facts import facts_json
from planner.core.protocol import parse

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("protocol_versions") as batch:
        batch.add_column(sa.Column("facts", sa.Text(), nullable=True))
    versions = sa.table(
        "protocol_versions",
        sa.column("id", sa.Integer),
        sa.column("protocol_id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("source", sa.Text),
        sa.column("facts", sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(versions.c.id, versions.c.protocol_id, versions.c.version, versions.c.source)
    ).all()
    for row_id, protocol_id, version, source in rows:
        facts = facts_json(parse(source, f"{protocol_id} v{version}"))
        connection.execute(versions.update().where(versions.c.id == row_id).values(facts=facts))
    with op.batch_alter_table("protocol_versions") as batch:
        batch.alter_column("facts", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("protocol_versions") as batch:
        batch.drop_column("facts")
