"""A planner database: its engine, checked to be at the current schema, and
the two kinds of transaction the application uses.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from planner.store.engine import make_engine, resolve_url
from planner.store.migrate import ensure_current
from planner.store.records import ProtocolCache


class Database:
    """Opened once per :class:`planner.app.Planner`; refuses an old schema."""

    def __init__(self, db: str | None = None) -> None:
        self.url: URL = resolve_url(db)
        self.engine: Engine = make_engine(self.url)
        try:
            ensure_current(self.url, self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        #: Stored protocol versions never change: one cache for every transaction.
        self.protocols = ProtocolCache()

    def write(self) -> Session:
        """A session for one writing transaction (``with db.write() as s, s.begin():``)."""
        return Session(self.engine, expire_on_commit=False)

    def read(self) -> Session:
        """A session for reading: on SQLite a plain BEGIN that never waits for writers."""
        return Session(self.engine.execution_options(readonly=True))

    def snapshot(self) -> Session:
        """A reading session that sees one moment throughout (for checks over
        several tables): WAL on SQLite, REPEATABLE READ on a server."""
        engine = self.engine.execution_options(readonly=True)
        if self.engine.dialect.name != "sqlite":
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        return Session(engine)

    def close(self) -> None:
        self.engine.dispose()
