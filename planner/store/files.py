"""Writing output files: whole or not at all, and never over the database.

Outputs are written to a temporary file beside the target and renamed into
place. They never replace the database or its companions, anything that is
not a regular file (a FIFO, a device, a folder), nor, unless forced, another
SQLite database. New files get the database file's permissions (0600 when
there is no file), and temporary files are removed on failure; those a killed
run left behind are removed by the next write into the same folder. A full
disk, or any other failure to write, is one sentence naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Mapping

from planner.core.errors import InputError, PlannerError

#: Temporary files are named so: the next write removes its stale ones.
TEMP_PREFIX, TEMP_SUFFIX = ".planner-", ".tmp"
#: A temporary file untouched this long belongs to a run that died.
STALE_AFTER_SECONDS = 3600
#: The first bytes of every SQLite database file.
SQLITE_HEADER = b"SQLite format 3\x00"


def new_file_mode(database: str | None) -> int:
    """The permissions of new files: the database file's, else 0600."""
    if database is None:
        return 0o600
    try:
        return stat.S_IMODE(os.stat(database).st_mode) & 0o666
    except OSError:
        return 0o600


def is_sqlite_file(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def check_target(path: str, *, field: str, force: bool | None = False) -> None:
    """Refuse to write over what is not a plain output file (see the module);
    ``force=None``: an SQLite database is never replaced."""
    real = os.path.realpath(path)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise InputError(
            f"cannot write {path!r}: {error.strerror}", field=field, value=path
        ) from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path!r} is a folder; give a file name", field=field, value=path)
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{path!r} is not a regular file (a pipe, a device or a socket); give a file name",
            field=field,
            value=path,
        )
    if not force and is_sqlite_file(real):
        raise InputError(
            f"{path!r} is an SQLite database; "
            + ("it is replaced only by force" if force is False else "choose another place"),
            field="force" if force is False else field,
            value=path,
        )


def new_temporary(folder: str) -> tuple[int, str]:
    """A new temporary file in ``folder`` (after removing stale ones): handle, path."""
    remove_stale(folder)
    return tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)


def remove_stale(folder: str) -> None:
    """Remove temporary files of ours that a killed run left in ``folder``."""
    limit = time.time() - STALE_AFTER_SECONDS
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
                    os.unlink(entry.path)


def protected_paths(database: str | None) -> set[str]:
    """The database file and its companions, which no export may replace."""
    if database is None:
        return set()
    real = os.path.realpath(database)
    return {real, *(real + suffix for suffix in ("-wal", "-shm", "-journal"))}


def write_atomically(
    path: str,
    chunks: Iterable[bytes],
    *,
    protect: set[str],
    mode: int = 0o600,
    force: bool = False,
) -> int:
    """Write ``chunks`` to ``path`` via a temporary file; return the bytes written.

    Refuses the database's own files and what :func:`check_target` refuses; on
    any error the old file (if any) is left as it was and nothing is left behind.
    """
    real = os.path.realpath(path)
    if real in protect:
        raise InputError(
            f"file {path!r} is the database itself; choose another file",
            field="output",
            value=path,
        )
    check_target(path, field="output", force=force)
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise InputError(
            f"cannot write {path!r}: the folder {folder!r} does not exist",
            field="output",
            value=path,
        )
    try:
        temporary, written = _temporary_copy(folder, chunks, mode)
        try:
            os.replace(temporary, real)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as error:
        if error.errno is None:  # not the system refusing a write: the stream's own failure
            raise
        raise unwritten(path, error, "output") from None
    return written


def unwritten(path: str, error: OSError, field: str) -> PlannerError:
    """Why ``path`` could not be written, in one sentence: a full disk (exit 1),
    or a place the user chose that cannot take files (exit 2)."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return PlannerError(f"cannot write {path!r}: the disk is full", field=field, value=path)
    if error.errno == errno.EFBIG:
        return PlannerError(
            f"cannot write {path!r}: the file is larger than this system allows",
            field=field,
            value=path,
        )
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return InputError(f"cannot write {path!r}: {error.strerror}", field=field, value=path)
    return PlannerError(f"cannot write {path!r}: {error.strerror}", field=field, value=path)


def _folder_for_files(folder: str) -> tuple[str, bool]:
    """The real path of a folder to write into, and whether it was created now.

    A missing folder is created when its parent exists; anything else that
    keeps files from being written there is the caller's input at fault.
    """
    real = os.path.realpath(folder)
    created = False
    if not os.path.exists(real) and os.path.isdir(os.path.dirname(real) or "."):
        try:
            os.mkdir(real)
            created = True
        except OSError as error:
            raise _unwritable(folder, error.strerror or str(error)) from None
    if not os.path.isdir(real):
        raise _unwritable(folder, "it is not a folder, nor can it be created")
    if not os.access(real, os.W_OK | os.X_OK):
        raise _unwritable(folder, "permission denied")
    return real, created


def _unwritable(folder: str, why: str) -> InputError:
    return InputError(f"cannot write into {folder!r}: {why}", field="out_dir", value=folder)


def _temporary_copy(folder: str, chunks: Iterable[bytes], mode: int) -> tuple[str, int]:
    """Write ``chunks`` to a new temporary file in ``folder``: its path and size."""
    handle, temporary = new_temporary(folder)
    written = 0
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return temporary, written


def write_files_atomically(
    folder: str, files: Mapping[str, Iterable[bytes]], *, protect: set[str], mode: int = 0o600
) -> dict[str, int]:
    """Write several files into ``folder``, all or none; return each one's size.

    Every file is written to a temporary name in the folder first; only when
    all are complete are they renamed to their names (replacing older ones).
    On any error the temporaries are removed, and a folder created for them
    too, so nothing is left behind.
    """
    real, created = _folder_for_files(folder)
    temporaries: dict[str, str] = {}
    sizes: dict[str, int] = {}
    try:
        for name, chunks in files.items():
            target = os.path.join(real, name)
            if os.path.realpath(target) in protect:
                raise InputError(
                    f"{target!r} is the database itself; choose another folder",
                    field="out_dir",
                    value=folder,
                )
            check_target(target, field="out_dir", force=None)
            temporaries[target], sizes[name] = _temporary_copy(real, chunks, mode)
        for target, temporary in temporaries.items():
            os.replace(temporary, target)
    except BaseException as error:
        for temporary in temporaries.values():
            if os.path.exists(temporary):
                os.unlink(temporary)
        if created:
            os.rmdir(real)
        if isinstance(error, OSError) and error.errno is not None:
            raise unwritten(folder, error, "out_dir") from None
        raise
    return sizes


def claim_new_file(path: str | None) -> None:
    """Create a new SQLite file readable by its owner only (0600, whatever the
    umask): it holds participants' visits, password hashes and the audit trail;
    SQLite gives its -wal and -shm files the same permissions, and backups and
    exports take them too. An existing file is left as it is; a path that cannot
    be created is left to SQLite, which says why."""
    if path is None:
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        return
