"""Engines for SQLite files and database URLs.

On SQLite the application's engine turns foreign keys on, uses WAL with
``synchronous = FULL`` and a busy timeout, and starts every transaction with
``BEGIN IMMEDIATE`` so that two writers queue for the lock instead of failing
half-way through a command.
Read-only work asks for ``engine.execution_options(readonly=True)`` and gets
a plain ``BEGIN``, which never waits for writers.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from planner.core.errors import InputError
from planner.store.failures import on_error
from planner.store.lite import DEFAULT_DB

BUSY_TIMEOUT_MS = 30_000
#: ``PRAGMA synchronous`` in WAL mode: FULL syncs the WAL at every commit, so
#: an acknowledged command survives a power cut (``benchmarks/durability.py``
#: measures what it costs against NORMAL; see the README).
SYNCHRONOUS = "FULL"
#: ``PRAGMA cache_size`` of each connection to a file, in KiB (SQLite's default
#: is 2,000): a large write (an enrolment file, a closing) keeps the pages it
#: changes in memory until it commits instead of spilling them to the WAL and
#: reading them back. 10,000 enrolments by a plain sqlite3 script: 4.9 s with
#: the default, 3.6 s with 8 MiB, 3.5 s with 16 MiB, no better beyond
#: (``benchmarks/bench_enrol.py``). At most this much a connection, used as needed.
CACHE_KIB = 16_384


def resolve_url(db: str | None) -> URL:
    """A path or an SQLAlchemy URL; default ``$PLANNER_DB``, else ``planner.db``."""
    if db is not None and not db.strip():
        raise InputError("the database name is empty; give a database file or URL", field="db")
    env = os.environ.get("PLANNER_DB")
    if db is None and env and not env.strip():  # blanks: a mistake, not "unset" (planner.db)
        raise InputError(
            "PLANNER_DB is blank; give a database file or URL, or unset it", field="db"
        )
    db = db or os.environ.get("PLANNER_DB") or DEFAULT_DB
    try:
        db.encode("utf-8")  # before any file is made: SQLAlchemy's URLs are text
    except UnicodeEncodeError:
        shown = os.fsencode(db)
        raise InputError(
            f"the database path {shown!r} is not UTF-8 text; rename the file or folder",
            field="db",
            value=shown,
        ) from None
    if "://" not in db:
        return URL.create("sqlite", database=os.path.abspath(db))
    try:
        return make_url(db)
    except ArgumentError:
        raise InputError(
            f"database {db!r} is neither a file path nor a database URL", field="db", value=db
        ) from None


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> str | None:
    """The file of an SQLite URL, or None for memory databases and servers."""
    if not is_sqlite(url) or url.database in (None, "", ":memory:"):
        return None
    return url.database


def make_engine(url: URL | str, *, foreign_keys: bool = True) -> Engine:
    """The engine for a database; ``foreign_keys=False`` only for migrations."""
    url = make_url(url) if isinstance(url, str) else url
    if not is_sqlite(url):
        try:
            server = create_engine(url, pool_pre_ping=True)
        except (NoSuchModuleError, ArgumentError, ImportError):
            raise InputError(
                f"database {url.render_as_string()!r} cannot be used: planner knows SQLite "
                "files and PostgreSQL servers (postgresql+psycopg://USER@HOST/NAME)",
                field="db",
            ) from None
        event.listen(server, "handle_error", on_error)
        if server.dialect.name == "postgresql":
            from planner.store.models import for_postgresql  # its dialect: only for servers

            for_postgresql()
        return server
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "handle_error", on_error)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below): pysqlite's own transaction
        # handling would start transactions late and never for DDL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = " + ("ON" if foreign_keys else "OFF"))
        if sqlite_path(url) is not None:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
            cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get("readonly", False):
            connection.exec_driver_sql("BEGIN")
            return
        waits = options.get("busy_timeout_ms")  # a write that would rather not wait
        if waits is None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(waits)}")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    return engine
