"""The checks of a database's health: SQLite's own, and every stored value.

``PRAGMA quick_check`` reads every page and checks the B-trees' structure
(and NOT NULL); ``integrity_check`` also compares every index with its table;
``foreign_key_check`` finds rows referring to missing rows. None of them looks
at what a value holds: :func:`bad_values` finds values that planner could not
read back (a date that is no date, a number stored as text, text that is not
UTF-8), which is what a flipped bit inside a row usually leaves.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    func,
    select,
    text,
)
from sqlalchemy.types import TypeEngine

from planner.store.models import Base, Participant, Site

#: At most this many problems are listed by each check.
LIMIT = 20


def quick_check(connection: Connection, limit: int = LIMIT) -> list[str]:
    """SQLite's ``quick_check``: the problems found, none when the file is sound."""
    return _pragma(connection, f"PRAGMA quick_check({int(limit)})")


def integrity_check(connection: Connection, limit: int = LIMIT) -> list[str]:
    """SQLite's ``integrity_check`` (quick_check, and indexes against tables)."""
    return _pragma(connection, f"PRAGMA integrity_check({int(limit)})")


def _pragma(connection: Connection, statement: str) -> list[str]:
    rows = [str(row[0]) for row in connection.exec_driver_sql(statement)]
    return [] if rows == ["ok"] else rows


def foreign_key_check(connection: Connection, limit: int = LIMIT) -> list[str]:
    """Rows that refer to a row that does not exist."""
    found = []
    for table, rowid, parent, _ in connection.exec_driver_sql("PRAGMA foreign_key_check"):
        found.append(f"{table} row {rowid} refers to a missing row of {parent}")
        if len(found) >= limit:
            break
    return found


def _condition(name: str, kind: TypeEngine[object]) -> str | None:
    """SQL that is true when column ``name`` holds what its type cannot read."""
    # Through julianday() and back: SQLite's date() keeps 2026-02-30 as it is.
    if isinstance(kind, DateTime):
        return (
            f"typeof({name}) <> 'text' OR datetime(julianday({name})) IS NOT substr({name}, 1, 19)"
        )
    if isinstance(kind, Date):
        return f"typeof({name}) <> 'text' OR date(julianday({name})) IS NOT {name}"
    if isinstance(kind, Boolean):
        return f"{name} NOT IN (0, 1)"
    if isinstance(kind, Integer):
        return f"typeof({name}) <> 'integer'"
    if isinstance(kind, Float):
        return f"typeof({name}) NOT IN ('real', 'integer')"
    if isinstance(kind, String):  # and Text; UTF-8 is checked in Python (_not_utf8)
        return f"typeof({name}) <> 'text'"
    return None


#: Values planner writes in only a few spellings: SQL true for any other.
RULES: dict[tuple[str, str], str] = {
    ("visits", "status"): "status NOT IN ('scheduled', 'completed', 'missed', 'cancelled')",
    ("visits", "time"): "NOT time GLOB '[0-2][0-9]:[0-5][0-9]'",
    ("participants", "status"): "status NOT IN ('active', 'withdrawn', 'died')",
}


def _checks(table: Table) -> tuple[list[str], list[str]]:
    """A table's columns, and for each the SQL true when its value is unreadable."""
    names, conditions = [], []
    for column in table.columns:
        name = f'"{column.name}"'
        condition = _condition(name, column.type)
        rule = RULES.get((table.name, column.name))
        if rule is not None:
            condition = f"{condition} OR {rule}" if condition else rule
        if condition is not None:
            names.append(column.name)
            conditions.append(f"({name} IS NOT NULL AND ({condition}))")
    return names, conditions


def _unreadable(connection: Connection, table: Table, encoding: bool) -> Iterator[tuple[int, str]]:
    """``(rowid, column)`` of the values of ``table`` its column's type cannot read,
    in one pass over the table."""
    names, conditions = _checks(table)
    if not names:
        return
    query = (
        f'SELECT rowid, {", ".join(conditions)} FROM "{table.name}" '
        f"WHERE {' OR '.join(conditions)} LIMIT {LIMIT}"
    )
    for row in connection.execute(text(query)):
        yield from ((int(row[0]), name) for name, bad in zip(names, row[1:], strict=True) if bad)
    texts = [c.name for c in table.columns if isinstance(c.type, String)]
    if texts and encoding:
        yield from _not_utf8(connection, table.name, texts)


def _not_utf8(connection: Connection, table: str, columns: list[str]) -> Iterator[tuple[int, str]]:
    """Text values that are not UTF-8: those with a byte outside printable
    ASCII are read, and decoded here (SQLite does not check)."""
    wide = " OR ".join(f"\"{c}\" GLOB '*[^ -~]*'" for c in columns)
    blobs = ", ".join(f'CAST("{c}" AS BLOB)' for c in columns)
    for row in connection.execute(text(f'SELECT rowid, {blobs} FROM "{table}" WHERE {wide}')):
        for column, raw in zip(columns, row[1:], strict=True):
            try:
                bytes(raw or b"").decode("utf-8")
            except UnicodeDecodeError:
                yield int(row[0]), column


def bad_values(connection: Connection, *, encoding: bool = True, limit: int = LIMIT) -> list[str]:
    """Stored values planner cannot read back, as ``table row N: column ...``;
    ``encoding``: also text that is not UTF-8 (the slowest part)."""
    found: list[str] = []
    for table in Base.metadata.sorted_tables:
        for rowid, column in _unreadable(connection, table, encoding):
            found.append(f"{table.name} row {rowid}: {column} holds an unreadable value")
            if len(found) >= limit:
                return found
    return found


#: The triggers that keep the audit table append-only, by dialect, and what each refuses.
AUDIT_TRIGGERS = {
    "sqlite": {
        "audit_no_update": "changing audit rows",
        "audit_no_delete": "deleting audit rows",
        "audit_no_replace": "replacing audit rows",
    },
    "postgresql": {
        "audit_no_change": "changing or deleting audit rows",
        "audit_no_truncate": "emptying the audit table",
    },
}


def audit_triggers(connection: Connection) -> list[str]:
    """The append-only triggers of the audit table that are missing (someone
    dropped them: the hash chain still shows what was then changed)."""
    dialect = connection.dialect.name
    expected = AUDIT_TRIGGERS.get(dialect, {})
    if dialect == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
    elif dialect == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit'::regclass"
    else:
        return []
    present = {str(name) for (name,) in connection.execute(text(query))}
    return [
        f"trigger {name} is missing: nothing refuses {what}"
        for name, what in expected.items()
        if name not in present
    ]


def case_twins(connection: Connection, limit: int = LIMIT) -> tuple[list[str], str]:
    """Participant and site codes that differ from another only in letter case
    (each names one person or site: planner refuses a second such code, an older
    release or a race did not), and how many codes were compared."""
    found, compared = [], []
    for model, noun in ((Participant, "participant"), (Site, "site")):
        lowered = func.lower(model.code)
        twins = select(lowered).group_by(lowered).having(func.count() > 1)
        codes = connection.scalars(
            select(model.code).where(lowered.in_(twins)).order_by(lowered, model.code)
        ).all()
        groups: dict[str, list[str]] = {}
        for code in codes:
            groups.setdefault(code.lower(), []).append(code)
        found += [
            f"{noun} codes {', '.join(same)} differ only in case: one {noun} stored twice?"
            for same in groups.values()
        ]
        count = int(connection.scalar(select(func.count()).select_from(model)) or 0)
        compared.append(f"{count} {noun}{'' if count == 1 else 's'}")
    return found[:limit], ", ".join(compared)
