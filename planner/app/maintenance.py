"""Database maintenance as library calls: upgrade, backup and restore."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from planner.app.context import Context
from planner.store.backup import backup_to, restore_from
from planner.store.engine import resolve_url, sqlite_path
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


def backup_database(db: str | None, destination: str, *, force: bool = False) -> int:
    """A consistent copy of an SQLite database, even while others write; pages
    copied. An existing ``destination`` is replaced only with ``force``."""
    return backup_to(resolve_url(db), destination, force=force)


@dataclass(frozen=True, slots=True)
class Restored:
    """Pages restored, and where the database's previous content was kept."""

    pages: int
    kept: str | None


def restore_database(db: str | None, backup_file: str, *, now: datetime | None = None) -> Restored:
    """Replace an SQLite database's content with a backup's, keeping a copy of
    the current content first; both files are checked for integrity."""
    url = resolve_url(db)
    path = sqlite_path(url)
    keep = None
    if path is not None and os.path.exists(path):
        keep = f"{path}.before-restore-{(now or datetime.now()).strftime('%Y%m%dT%H%M%S')}.bak"
    return Restored(restore_from(url, backup_file, keep), keep)
