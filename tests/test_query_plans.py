"""The site queries coordinators ask most walk the index that keeps them flat
as a trial grows (SQLite has no statistics: its choice follows the schema).

- due on a day: scheduled visits by window start (migration 0008), not every
  future visit by window end;
- overdue: by window end; upcoming: by target.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite

from planner.app import Planner
from planner.store.repository import records

PARAMS = {"site": 1, "day": "2026-05-01", "cutoff": "2026-05-01", "first": "2026-05-01"}
EXPECTED = {
    "_DUE_ON": "ix_visits_scheduled_site_window_start (site_id=? AND window_start<?)",
    "_OVERDUE_ON": "ix_visits_site_status_window_end (site_id=? AND status=? AND window_end<?)",
    "_OVERDUE": "ix_visits_site_status_window_end (site_id=? AND status=? AND window_end<?)",
    "_UPCOMING": "ix_visits_site_target (site_id=? AND target>? AND target<?)",
}


def plan(connection: sqlite3.Connection, query: Any) -> list[str]:
    compiled = query.compile(dialect=sqlite.dialect())
    params = compiled.construct_params({**PARAMS, "end": "2026-05-08"})
    values = [params[name] for name in compiled.positiontup]
    found = connection.execute("EXPLAIN QUERY PLAN " + str(compiled), values).fetchall()
    return [row[3] for row in found]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_site_query_walks_its_index(db_path: Path, name: str) -> None:
    with Planner(str(db_path), actor="tester") as planner:
        planner.add_site("WUH", "Asia/Shanghai")
    keyed = getattr(records, name)
    connection = sqlite3.connect(db_path)
    try:
        for query in (keyed.rows, keyed.keys):
            steps = plan(connection, query)
            assert f"SEARCH visits USING INDEX {EXPECTED[name]}" in steps, steps
    finally:
        connection.close()
