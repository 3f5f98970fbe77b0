"""Reading an SQLite file with the standard library's ``sqlite3`` alone.

The short reading commands (``upcoming``, ``due``, ``overdue``) spent most
of their time importing SQLAlchemy and the protocol models (issue 18). On an
SQLite file they read through a :class:`LiteReader` instead: the same
queries (compiled from the application's statements: :mod:`planner.store.lite_sql`),
the same records (:class:`~planner.store.record_rows.RecordMaker`, with
facts stored beside each protocol version), in one reading transaction.

It is used only when everything is ordinary: :func:`sqlite_file` gives None
for a URL or a missing file, :meth:`LiteReader.current` says whether the
schema is this planner's, and :mod:`planner.app.quick` takes the
application's path for those and for any SQLite error. It never writes: the
connection is ``query_only``.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any

from planner.core.visits import VisitRecord
from planner.store import lite_sql
from planner.store.record_rows import RecordMaker
from planner.store.revisions import HEAD

#: How long a read waits for a lock (only a rollback-journal file locks readers).
BUSY_SECONDS = 30.0

#: The database when none is named (and ``$PLANNER_DB`` is unset or empty).
DEFAULT_DB = "planner.db"

#: Errors that send the caller to the application's path.
LiteError = sqlite3.Error

#: A compiled query: its text, and the values SQLAlchemy bound itself.
Query = tuple[str, dict[str, Any]]


def sqlite_file(db: str | None) -> str | None:
    """The existing SQLite file ``db`` (or ``$PLANNER_DB``, else ``planner.db``)
    names, or None for anything else (a URL, an empty name, no such file)."""
    db = db if db is not None else (os.environ.get("PLANNER_DB") or DEFAULT_DB)
    if not db.strip() or "://" in db:
        return None
    path = os.path.abspath(db)
    return path if os.path.isfile(path) else None


class LiteReader:
    """One reading transaction on an SQLite file (use it in ``with``)."""

    def __init__(self, path: str) -> None:
        uri = Path(path).as_uri() + "?mode=rw"  # percent-encoded: any file name
        self.connection = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            self.connection.execute("PRAGMA query_only = ON")
            self.connection.execute("BEGIN")
        except BaseException:
            self.connection.close()
            raise
        self.maker = RecordMaker()

    def __enter__(self) -> LiteReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.connection.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        finally:
            self.connection.close()

    def current(self) -> bool:
        """Whether the schema is the one this planner writes."""
        row = self.connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return row is not None and row[0] == HEAD

    def site_zones(self, code: str | None) -> list[tuple[int, str]]:
        """``(site id, time zone)`` of every site, or of the one with ``code``."""
        if code is None:
            return list(self._run(lite_sql.ZONES, {}))
        return list(self._run(lite_sql.ZONE, {"code": code}))

    def upcoming(self, site_id: int, first: date, end: date) -> list[VisitRecord]:
        found = {"site": site_id, "first": first.isoformat(), "end": end.isoformat()}
        return self._records(lite_sql.UPCOMING, found)

    def due_on(self, site_id: int, day: date) -> list[VisitRecord]:
        return self._records(lite_sql.DUE_ON, {"site": site_id, "day": day.isoformat()})

    def overdue_on(self, site_id: int, day: date) -> list[VisitRecord]:
        return self._records(lite_sql.OVERDUE_ON, {"site": site_id, "day": day.isoformat()})

    # -- what RecordMaker reads

    def version(self, version_id: int) -> tuple[str, int, str]:
        for protocol_id, version, facts in self._run(lite_sql.VERSION, {"version_id": version_id}):
            return protocol_id, version, facts
        raise LookupError(f"protocol version {version_id} is missing")

    def versions_of(self, protocol_id: str) -> list[int]:
        return [row[0] for row in self._run(lite_sql.VERSIONS_OF, {"protocol_id": protocol_id})]

    # --

    def _run(self, query: Query, params: dict[str, Any]) -> list[Any]:
        text, fixed = query
        return self.connection.execute(text, {**fixed, **params}).fetchall()

    def _records(self, query: Query, params: dict[str, Any]) -> list[VisitRecord]:
        return list(self.maker.make(self, [_typed(row) for row in self._run(query, params)]))


_day = date.fromisoformat


def _typed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as SQLAlchemy's SQLite types give it: dates and times parsed
    from their ISO text (ideal, target, window, actual, last change, day 1)."""
    (event, occurrence, ideal, target, w_start, w_end, time, duration, status, actual,
     deviation, revision, updated, participant, arm, day1, weight, version_id, site,
     zone, kind, label) = row  # fmt: skip
    return (
        event, occurrence, _day(ideal), _day(target), _day(w_start), _day(w_end), time,
        duration, status, None if actual is None else _day(actual), deviation, revision,
        datetime.fromisoformat(updated), participant, arm, _day(day1), weight, version_id,
        site, zone, kind, label,
    )  # fmt: skip
