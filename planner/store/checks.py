"""The file-level checks of ``planner db check``, each run on its own.

Each check reads the whole database; one that cannot even read it (the file
is not a database, its schema pages are broken) reports that as its problem
instead of failing the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from planner.core.errors import DatabaseDamaged, NotFound, PlannerError
from planner.store.engine import make_engine, sqlite_path
from planner.store.failures import driver_message
from planner.store.repository import health

#: The checks of an SQLite file: name, and what it runs.
SQLITE_CHECKS: tuple[tuple[str, Callable[[Connection], list[str]]], ...] = (
    ("integrity_check", health.integrity_check),
    ("foreign_key_check", health.foreign_key_check),
    ("stored values", health.bad_values),
)


def existing_file(url: URL) -> str | None:
    """The SQLite file of ``url`` (None for a server); NotFound if it does not exist,
    so that checking a mistyped path never creates a database there."""
    path = sqlite_path(url)
    if path is not None and not os.path.isfile(path):
        raise NotFound(f"there is no database file {path!r}", field="db", value=path)
    return path


def file_checks(url: URL) -> list[tuple[str, list[str]]]:
    """``(check, problems)`` for each SQLite check; none for a server database."""
    if sqlite_path(url) is None:
        return []
    engine = make_engine(url)
    try:
        return [(name, _run(engine.execution_options(readonly=True), check))
                for name, check in SQLITE_CHECKS]  # fmt: skip
    finally:
        engine.dispose()


def _run(engine: Engine, check: Callable[[Connection], list[str]]) -> list[str]:
    try:
        with engine.connect() as connection:
            return check(connection)
    except DatabaseDamaged as error:
        return [f"the file cannot be read: {error.value or error}"]
    except PlannerError as error:
        return [f"the file cannot be read: {error}"]
    except SQLAlchemyError as error:
        return [f"the file cannot be read: {driver_message(error)}"]
