"""Online backups of SQLite databases, and restoring one.

A backup never writes to an existing path unless forced, and then removes
that path's ``-wal`` and ``-shm`` first (a stale WAL beside a new copy would
be replayed into it). The copy is written under a temporary name with
SQLite's online backup API (one consistent snapshot, WAL content included),
renamed into place, and checked there with ``PRAGMA integrity_check``.

A restore first keeps the current database as a copy (the same way), then
copies the backup into the live database through SQLite's backup API, so the
live file's WAL and shared memory stay SQLite's business, and checks the result.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3

from sqlalchemy.engine import URL

from planner.core.errors import InputError, PlannerError
from planner.store.engine import BUSY_TIMEOUT_MS, sqlite_path
from planner.store.failures import SQLITE_FULL
from planner.store.files import (
    check_target,
    claim_new_file,
    new_file_mode,
    new_temporary,
    protected_paths,
    unwritten,
)
from planner.store.repository.health import AUDIT_TRIGGERS
from planner.store.revisions import REVISIONS

COMPANIONS = ("-wal", "-shm", "-journal")


class DamagedCopy(PlannerError):
    """A copy failed its integrity check (exit 1: not the input's fault)."""


def _source(url: URL) -> str:
    source = sqlite_path(url)
    if source is None:
        raise InputError(
            "backups work on SQLite files; use the database server's own tools otherwise",
            field="db",
        )
    return source


def backup_to(url: URL, destination: str, *, force: bool = False) -> int:
    """Copy the database with SQLite's online backup API; return the pages copied.

    Others may go on writing: the copy is one consistent snapshot.
    """
    if not destination.strip():
        raise InputError("the backup file name is empty")
    source = _source(url)
    if os.path.realpath(destination) in protected_paths(source):
        raise InputError(f"{destination!r} is the database itself; choose another file")
    check_target(destination, field="file", force=True)
    if os.path.lexists(destination) and not force:
        raise InputError(
            f"{destination!r} already exists; it is replaced only by force",
            field="force",
            value=destination,
        )
    folder = os.path.dirname(os.path.realpath(destination)) or "."
    if not os.path.isdir(folder):
        raise InputError(f"cannot write the backup to {destination!r}: no such folder")
    pages = _copy(source, folder, destination, new_file_mode(source))
    check_copy(destination)
    return pages


def keep_copy(url: URL, stem: str) -> str:
    """Back up to ``stem + ".bak"``, or ``stem + "-2.bak"`` and so on when that
    name is taken (two upgrades in the same second): the name is claimed with
    an exclusive create, so two processes never write the same copy. Returns
    the copy's path."""
    for number in range(1, 1000):
        name = f"{stem}.bak" if number == 1 else f"{stem}-{number}.bak"
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            continue
        except OSError as error:
            raise InputError(f"cannot write a backup to {name!r}: {error.strerror}") from None
        try:
            backup_to(url, name, force=True)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
        return name
    raise InputError(f"cannot find a free backup name beside {stem!r}: 999 are taken")


def _copy(source: str, folder: str, destination: str, mode: int) -> int:
    """Copy into a temporary file, then move it to ``destination``: written as
    the owner's alone, given the database's permissions once complete (a
    read-only database, an archived trial's, gives a read-only copy)."""
    handle, temporary = new_temporary(folder)
    os.fchmod(handle, 0o600)
    os.close(handle)
    try:
        pages = _online_copy(source, temporary)
        os.chmod(temporary, mode)
        for suffix in COMPANIONS:  # never let a stale WAL be replayed into the copy
            with contextlib.suppress(FileNotFoundError):
                os.unlink(destination + suffix)
        os.replace(temporary, destination)
    except sqlite3.Error as error:
        raise _failed(f"cannot write the backup to {destination!r}", error) from None
    except OSError as error:
        raise unwritten(destination, error, "file") from None
    finally:
        for leftover in (temporary, *(temporary + suffix for suffix in COMPANIONS)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
    return pages


def _online_copy(source: str, target: str) -> int:
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # a copy is one self-contained file
            return int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
    finally:
        src.close()


def check_copy(path: str) -> None:
    """``PRAGMA integrity_check`` on a file; DamagedCopy unless it says ok."""
    if not os.path.isfile(path):
        raise DamagedCopy(f"{path!r} is missing")
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        finally:
            connection.close()
    except sqlite3.Error as error:
        result = [str(error)]
    if result != ["ok"]:
        raise DamagedCopy(f"{path!r} failed its integrity check: {'; '.join(result[:3])}")


def restore_from(url: URL, backup: str, keep: str | None) -> tuple[int, str | None]:
    """Replace the database's content with ``backup``'s; the current content is
    first copied beside it, named from the stem ``keep`` (:func:`keep_copy`;
    when there is a current database). The pages copied, and the copy's path."""
    target = _source(url)
    real = os.path.realpath(backup)
    if real in protected_paths(target):
        raise InputError(f"{backup!r} is the database itself; give a backup file", field="backup")
    if not os.path.isfile(real):
        raise InputError(f"{backup!r} is not a file", field="backup", value=backup)
    check_copy(backup)
    revision = _planner_database(backup)
    if revision not in REVISIONS:
        raise InputError(
            f"{backup!r} was made by a newer planner (schema {revision}; this one knows up to "
            f"{REVISIONS[-1]}): restore it with that planner",
            field="backup",
            value=backup,
        )
    _check_triggers(backup, revision)
    kept = None if keep is None else keep_copy(url, keep)
    claim_new_file(target)  # a database restored to a new path is its owner's alone
    src = sqlite3.connect(f"file:{real}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            src.backup(dst)
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
    except sqlite3.Error as error:
        raise _failed(f"cannot restore {backup!r}", error) from None
    finally:
        src.close()
    check_copy(target)
    return pages, kept


#: The revision that added ``audit_no_replace`` (the others are in every revision).
REPLACE_TRIGGER_SINCE = "0003"


def _check_triggers(path: str, revision: str) -> None:
    """Refuse a backup whose audit table lost an append-only trigger: restored,
    nothing would refuse edits to the trail (and someone removed it)."""
    wanted = dict(AUDIT_TRIGGERS["sqlite"])
    if revision < REPLACE_TRIGGER_SINCE:
        del wanted["audit_no_replace"]
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
        present = {str(name) for (name,) in connection.execute(query)}
    finally:
        connection.close()
    for name, what in wanted.items():
        if name not in present:
            raise InputError(
                f"{path!r} has lost the audit table's trigger {name} (nothing would refuse "
                f"{what}): it may have been edited; `planner --db {path} db check` says more",
                field="backup",
                value=path,
            )


def _planner_database(path: str) -> str:
    """The schema revision of a planner database file; InputError for other files."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        connection.close()
    if row is None:
        raise InputError(f"{path!r} is not a planner database", field="backup", value=path)
    return str(row[0])


def _failed(what: str, error: sqlite3.Error) -> PlannerError:
    """A full disk is no fault of the input (exit 1); anything else SQLite
    refuses about the files named is (exit 2)."""
    if (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF == SQLITE_FULL:
        return PlannerError(f"{what}: the disk is full; nothing was changed")
    return InputError(f"{what}: {error}", field="backup")
