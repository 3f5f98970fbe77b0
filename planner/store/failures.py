"""Database drivers' errors, as errors people can read.

SQLAlchemy wraps a driver's error with the SQL statement and its parameters;
none of that may reach a person. :func:`on_error` (an engine's
``handle_error`` listener) replaces the errors that have a plain meaning —
a damaged file, a full disk, a read-only file, a database held too long by
another program — with a :class:`~planner.core.errors.PlannerError` of one
sentence. Others keep SQLAlchemy's exception, whose message the interfaces
never print whole (:func:`driver_message` gives its first line, without SQL).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from planner.core.errors import DatabaseBusy, DatabaseDamaged, PlannerError

if TYPE_CHECKING:
    from sqlalchemy.engine import ExceptionContext

# SQLite's primary result codes (https://sqlite.org/rescode.html).
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN = 10, 11, 13, 14
SQLITE_NOTADB = 26
#: A read past the end of the file: a page number that points nowhere.
SQLITE_IOERR_SHORT_READ = SQLITE_IOERR | (2 << 8)
#: PostgreSQL's SQLSTATEs for damaged data (class XX: internal error).
PG_DAMAGED = ("XX001", "XX002")
PG_DISK_FULL = "53100"
BUSY = "the database is busy: another program has held it for too long; try again"


#: What the driver's message says, and the sentence for it.
_SQLITE_MESSAGES: dict[int, str] = {
    SQLITE_PERM: "the database file cannot be opened: permission denied",
    SQLITE_BUSY: BUSY,
    SQLITE_LOCKED: BUSY,
    SQLITE_READONLY: "the database cannot be changed: its file or folder is read-only",
    SQLITE_IOERR: "the database file cannot be read or written (a disk input/output error)",
    SQLITE_FULL: "the disk holding the database is full; nothing was changed",
}


def on_error(context: ExceptionContext) -> None:
    """``handle_error`` listener: raise the readable error, if there is one."""
    error = context.original_exception
    replacement = readable(error, context.engine.url.database if context.engine else None)
    if replacement is not None:
        raise replacement from None


def readable(error: BaseException, database: str | None = None) -> PlannerError | None:
    """The error a person reads for a driver's ``error``, or None."""
    if isinstance(error, sqlite3.Error):
        return _sqlite(error, database)
    state = getattr(error, "sqlstate", None)
    if isinstance(state, str):
        if state in PG_DAMAGED:
            return DatabaseDamaged(value=driver_message(error))
        if state == PG_DISK_FULL:
            return PlannerError("the database server's disk is full; nothing was changed")
    return None


def _sqlite(error: sqlite3.Error, database: str | None) -> PlannerError | None:
    text = str(error)
    if text.startswith("Could not decode to UTF-8"):
        return DatabaseDamaged(value="a stored text is not UTF-8")  # the message holds it
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB) or code == SQLITE_IOERR_SHORT_READ:
        return DatabaseDamaged(value=text)
    if primary == SQLITE_CANTOPEN:
        where = f" {database!r}" if database else ""
        return PlannerError(
            f"the database file{where} cannot be opened: "
            "its folder is missing or not writable, or it is a folder",
            field="db",
            value=database,
        )
    message = _SQLITE_MESSAGES.get(primary)
    if message is None:
        return None
    kind = DatabaseBusy if primary in (SQLITE_BUSY, SQLITE_LOCKED) else PlannerError
    return kind(message, field="db")


def driver_message(error: BaseException) -> str:
    """A database error's first line, without SQLAlchemy's SQL and parameters."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return " ".join(lines[0].split()) if lines else type(original).__name__
