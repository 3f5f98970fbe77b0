"""Migrations glue: create a new database, refuse an old one, upgrade on demand.

A brand-new database is created and migrated on first use. A database whose
schema is behind is refused until ``planner db upgrade``, which first copies
an SQLite file aside (with SQLite's online backup, so WAL content is kept).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DatabaseError, OperationalError

from planner.core.errors import DatabaseBusy, SchemaError
from planner.store.backup import keep_copy
from planner.store.engine import is_sqlite, make_engine, sqlite_path
from planner.store.failures import driver_message
from planner.store.repository import locks
from planner.store.revisions import HEAD as HEAD
from planner.store.revisions import REVISIONS as REVISIONS

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(url: URL) -> Config:
    from alembic.config import Config  # only when migrating: alembic is slow to import

    config = Config()
    config.set_main_option("script_location", str(resources.files("planner.migrations")))
    config.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def current_revision(engine: Engine) -> str | None:
    """The schema revision, None for an empty database; SchemaError otherwise."""
    # A reading transaction (plain BEGIN on SQLite): opening a database never
    # takes the write lock, so readers never queue behind a writer.
    try:
        with engine.execution_options(readonly=True).connect() as connection:
            tables = inspect(connection).get_table_names()
            if "alembic_version" not in tables:
                if tables:
                    raise SchemaError("the database holds tables but is not a planner database")
                return None
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DatabaseError as error:  # what failures.on_error left: no SQL in the message
        raise SchemaError(f"cannot open the database: {driver_message(error)}") from None
    return str(rows[0][0]) if rows else None


def ensure_current(url: URL, engine: Engine) -> None:
    """Migrate a new database; refuse one whose schema is not HEAD."""
    revision = current_revision(engine)
    if revision == HEAD:
        return
    if revision is None:
        if is_sqlite(url) and sqlite_path(url) is None:
            _create_in_memory(url, engine)
        else:
            _create(url, engine)
        return
    _refuse_newer(revision)
    copy = (
        "the upgrade keeps a backup copy"
        if is_sqlite(url)
        else "back the database up with the server's own tools first: the upgrade keeps no copy"
    )
    raise SchemaError(
        f"the database schema is at revision {revision} but this planner needs {HEAD}; "
        f"it must be upgraded first ({copy})",
        field="schema",
        value=revision,
    )


def _create_in_memory(url: URL, engine: Engine) -> None:
    """An in-memory database lives in its connection: migrate on that one."""
    from alembic import command

    config = alembic_config(url)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


def _create(url: URL, engine: Engine) -> None:
    """Migrate a brand-new database; another process may be creating it too.

    The migration runs inside one write transaction that re-reads the
    revision, so the second of two racing processes finds the work done; a
    lock conflict while the first holds the file is retried.
    """
    for attempt in range(20):
        try:
            upgrade(url, backup=False)
            return
        except (OperationalError, DatabaseBusy) as error:
            if not _busy(error) or attempt == 19:
                raise SchemaError(f"cannot create the database: {driver_message(error)}") from None
            time.sleep(0.1 * (attempt + 1))
            if current_revision(engine) == HEAD:
                return


def _busy(error: Exception) -> bool:
    return isinstance(error, DatabaseBusy) or "locked" in driver_message(error)


def _refuse_newer(revision: str) -> None:
    if revision not in REVISIONS:
        raise SchemaError(
            f"the database schema is at revision {revision}, which this planner does not "
            f"know (it knows up to {HEAD}): it was made by a newer planner; use that one",
            field="schema_newer",
            value=revision,
        )


def upgrade(url: URL, *, backup: bool = True, now: datetime | None = None) -> str | None:
    """Upgrade to HEAD; return the path of the backup made, if any.

    Upgrades of one database take turns (PostgreSQL: an advisory lock; an
    SQLite file: :func:`_in_turn`), and a later one finds the work done: two
    at once ran the same migrations twice ("expected to match one row when
    updating '0005' to '0006'")."""
    if url.get_backend_name() == "postgresql":
        _upgrade_in_turn(url)
        return None
    path = sqlite_path(url)
    try:
        first = _revision(url)
    except (OperationalError, DatabaseBusy) as error:
        if not _busy(error):
            raise
        first = "busy"  # another upgrade is under way: wait for it below, then look again
    if first == HEAD:  # the usual case: no lock file made
        return None
    # A new database is created without the lock (its creation takes turns on
    # SQLite's own lock, and retries): no lock file beside every new database.
    with _in_turn(path if first is not None else None):
        revision = _revision(url)  # again: another upgrade may have done it meanwhile
        if revision == HEAD:
            return None
        if revision is not None:
            _refuse_newer(revision)
        copy = None
        if backup and revision is not None and path is not None:
            stamp = (now or datetime.now()).strftime("%Y%m%dT%H%M%S")
            copy = keep_copy(url, f"{path}.{revision}-{stamp}")
        from alembic import command

        command.upgrade(alembic_config(url), "head")
        return copy


def _revision(url: URL) -> str | None:
    engine = make_engine(url, foreign_keys=False)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


@contextmanager
def _in_turn(path: str | None) -> Iterator[None]:
    """Hold an exclusive lock on ``<database>.upgrade-lock`` (made beside it,
    and left there) while upgrading an SQLite file. A lock file of its own,
    not the database: closing any descriptor of the database would drop the
    locks SQLite holds on it in this process."""
    if path is None:  # in memory: nobody else sees it
        yield
        return
    handle = os.open(f"{path}.upgrade-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


def _upgrade_in_turn(url: URL) -> None:
    """Upgrade a PostgreSQL database in one transaction holding an advisory
    lock: processes upgrading (or creating) it at once take turns, and the
    later ones find the work done. Nothing is copied aside: the server's own
    backups are the operator's business."""
    from alembic import command

    engine = make_engine(url, foreign_keys=False)
    try:
        with engine.connect() as connection, connection.begin():
            locks.migrations(connection)
            # Read on another connection: what an earlier holder committed.
            revision = current_revision(engine)
            if revision == HEAD:
                return
            if revision is not None:
                _refuse_newer(revision)
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
