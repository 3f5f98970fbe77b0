"""Writes :mod:`planner.store.lite_sql`: the SQL of the queries the command
line's reading path runs, compiled for SQLite from the same SQLAlchemy
statements the application runs, so that the two can never differ (a test
compiles them again and compares). ``python -m planner.store.lite_gen >
planner/store/lite_sql.py``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import sqlite

from planner.store.models import ProtocolVersion
from planner.store.repository import records

_HEADER = '''"""The SQL of the command line's reading path (:mod:`planner.store.lite`),
compiled for SQLite from the application's statements. Written by
``python -m planner.store.lite_gen``: do not edit by hand."""

from typing import Any

# fmt: off
'''

VERSION = select(ProtocolVersion.protocol_id, ProtocolVersion.version, ProtocolVersion.facts).where(
    ProtocolVersion.id == bindparam("version_id")
)
VERSIONS_OF = (
    select(ProtocolVersion.id)
    .where(ProtocolVersion.protocol_id == bindparam("protocol_id"))
    .order_by(ProtocolVersion.version.desc())
)

STATEMENTS: dict[str, Any] = {
    "UPCOMING": records.UPCOMING,
    "DUE_ON": records.DUE_ON,
    "OVERDUE_ON": records.OVERDUE_ON,
    "ZONES": records.ZONES,
    "ZONE": records.ZONE,
    "VERSION": VERSION,
    "VERSIONS_OF": VERSIONS_OF,
}


def compiled(statement: Any) -> tuple[str, dict[str, Any]]:
    """SQLite's text of a statement, with named parameters, and the values
    of those SQLAlchemy bound itself (the rest are None: given when run)."""
    found = statement.compile(dialect=sqlite.dialect(paramstyle="named"))
    return str(found), dict(found.params)


def module_text() -> str:
    parts = [_HEADER]
    for name, statement in STATEMENTS.items():
        text, fixed = compiled(statement)
        bound = {key: value for key, value in fixed.items() if value is not None}
        parts.append(f"{name}: tuple[str, dict[str, Any]] = (\n    {text!r},\n    {bound!r},\n)\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(module_text(), end="")
