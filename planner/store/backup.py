"""Online backups of SQLite databases."""

from __future__ import annotations

import os
import sqlite3

from sqlalchemy.engine import URL

from planner.core.errors import InputError
from planner.store.engine import sqlite_path
from planner.store.files import protected_paths


def backup_to(url: URL, destination: str) -> int:
    """Copy the database with SQLite's online backup API; return the pages copied.

    Others may go on writing: the copy is one consistent snapshot. The copy is
    written beside the destination first and moved into place when complete.
    """
    if not destination.strip():
        raise InputError("the backup file name is empty")
    source = sqlite_path(url)
    if source is None:
        raise InputError(
            "backups work on SQLite files; use the database server's own tools otherwise",
            field="db",
        )
    if os.path.realpath(destination) in protected_paths(source):
        raise InputError(f"{destination!r} is the database itself; choose another file")
    if os.path.isdir(destination):
        raise InputError(f"{destination!r} is a folder; give a file name")
    temporary = destination + ".partial"
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(temporary)
        try:
            src.backup(dst)
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    except sqlite3.Error as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise InputError(f"cannot write the backup to {destination!r}: {error}") from None
    finally:
        src.close()
    try:
        if check != "ok":
            raise InputError(f"the backup failed its integrity check: {check}")
        os.replace(temporary, destination)
    except OSError as error:
        raise InputError(f"cannot write the backup to {destination!r}: {error.strerror}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return pages
