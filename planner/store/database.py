"""A planner database: its engine, checked to be at the current schema, and
the two kinds of transaction the application uses.

Damage is named as such (:class:`~planner.core.errors.DatabaseDamaged`):
SQLite's own corruption errors by the engine (:mod:`planner.store.failures`),
and an unexpected failure inside a transaction when the database, checked
then, turns out damaged (a value no type can read, a broken page). On SQLite
a writing transaction first runs ``PRAGMA quick_check`` (on files up to
100 MB), outside the write lock, so that a damaged file takes no more
changes (the cost is measured and discussed in ``docs/architecture.md``,
"Damage").
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from planner.core.errors import DatabaseDamaged, PlannerError
from planner.store.engine import make_engine, resolve_url, sqlite_path
from planner.store.files import claim_new_file
from planner.store.migrate import ensure_current
from planner.store.records import ProtocolCache
from planner.store.repository import health

#: A long-lived process (the server) checks again before a write after this long.
RECHECK_SECONDS = 60.0
#: Larger files are not checked before each write (about 0.5 s at 5 ms/MB);
#: ``planner db check`` checks them, from a schedule.
QUICK_CHECK_MAX_BYTES = 100_000_000


class Database:
    """Opened once per :class:`planner.app.Planner`; refuses an old schema."""

    def __init__(self, db: str | None = None) -> None:
        self.url: URL = resolve_url(db)
        claim_new_file(sqlite_path(self.url))
        self.engine: Engine = make_engine(self.url)
        try:
            ensure_current(self.url, self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        #: Stored protocol versions never change: one cache for every transaction.
        self.protocols = ProtocolCache()
        self._checked_at: float | None = None

    def write(self, *, wait: bool = True) -> Session:
        """A session for one writing transaction (``with db.write() as s, s.begin():``);
        DatabaseDamaged, and nothing written, if the file fails its quick check.

        ``wait=False``: a write that can be skipped (noting when a session was
        last seen) gives up at once with DatabaseBusy while another program
        writes to an SQLite file, instead of waiting up to the busy timeout.
        """
        self.check_before_writing()
        engine = self.engine if wait else self.engine.execution_options(busy_timeout_ms=0)
        return _Session(self, engine, expire_on_commit=False)

    def read(self) -> Session:
        """A session for reading: on SQLite a plain BEGIN that never waits for writers."""
        return _Session(self, self.engine.execution_options(readonly=True))

    def snapshot(self) -> Session:
        """A reading session that sees one moment throughout (for checks over
        several tables): WAL on SQLite, REPEATABLE READ on a server."""
        engine = self.engine.execution_options(readonly=True)
        if self.engine.dialect.name != "sqlite":
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        return _Session(self, engine)

    def check_before_writing(self) -> None:
        """``PRAGMA quick_check`` on an SQLite file of at most QUICK_CHECK_MAX_BYTES,
        at most every RECHECK_SECONDS."""
        path = sqlite_path(self.url)
        if path is None or _size(path) > QUICK_CHECK_MAX_BYTES:
            return
        now = time.monotonic()
        if self._checked_at is not None and now - self._checked_at < RECHECK_SECONDS:
            return
        with self.engine.execution_options(readonly=True).connect() as connection:
            problems = health.quick_check(connection, limit=1)
        if problems:
            raise DatabaseDamaged()
        self._checked_at = now

    def damaged(self) -> bool:
        """Whether the SQLite file is damaged: broken pages, an index that
        disagrees with its table (a query may read either), unreadable values.

        Asked after an unexpected failure only: it reads the whole file (about
        2.5 s at 10,000 participants). A server database, which checks its
        own pages, is never said to be.
        """
        if self.engine.dialect.name != "sqlite":
            return False
        try:
            with self.engine.execution_options(readonly=True).connect() as connection:
                return bool(
                    health.integrity_check(connection, limit=1)
                    or health.bad_values(connection, encoding=False, limit=1)
                )
        except DatabaseDamaged:
            return True
        except Exception:  # the first failure is the one to report
            return False

    def close(self) -> None:
        self.engine.dispose()


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class _Session(Session):
    """A session whose unexpected failures are told apart from damage."""

    def __init__(self, database: Database, bind: Engine, **options: Any) -> None:
        super().__init__(bind, **options)
        self._database = database

    def __exit__(self, type_: Any, value: Any, traceback: Any) -> None:
        super().__exit__(type_, value, traceback)
        unexpected = isinstance(value, Exception) and not isinstance(value, PlannerError)
        if unexpected and self._database.damaged():
            raise DatabaseDamaged() from value
