"""Database maintenance as library calls: upgrade and backup."""

from __future__ import annotations

from dataclasses import dataclass

from planner.app.context import Context
from planner.store.backup import backup_to
from planner.store.engine import resolve_url
from planner.store.migrate import HEAD, upgrade


@dataclass(frozen=True, slots=True)
class Upgraded:
    """Where the database is now, and the copy kept of it before (if any)."""

    revision: str
    backup: str | None


def upgrade_database(db: str | None) -> Upgraded:
    """Migrate a database to this version's schema; SQLite files are copied first.

    Works on a database that :class:`~planner.app.Planner` refuses to open
    because its schema is old.
    """
    copy = upgrade(resolve_url(db))
    return Upgraded(HEAD, copy)


def backup(ctx: Context, destination: str) -> int:
    """A consistent copy of the context's (SQLite) database; pages copied."""
    return backup_to(ctx.db.url, destination)


def backup_database(db: str | None, destination: str) -> int:
    """A consistent copy of an SQLite database, even while others write; pages copied."""
    return backup_to(resolve_url(db), destination)
