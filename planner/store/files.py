"""Writing output files: whole or not at all, and never over the database."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

from planner.core.errors import InputError


def protected_paths(database: str | None) -> set[str]:
    """The database file and its companions, which no export may replace."""
    if database is None:
        return set()
    real = os.path.realpath(database)
    return {real, *(real + suffix for suffix in ("-wal", "-shm", "-journal"))}


def write_atomically(path: str, chunks: Iterable[bytes], *, protect: set[str]) -> int:
    """Write ``chunks`` to ``path`` via a temporary file; return the bytes written.

    Refuses the database's own files and folders; on any error the old file
    (if any) is left as it was.
    """
    real = os.path.realpath(path)
    if real in protect:
        raise InputError(
            f"file {path!r} is the database itself; choose another file",
            field="output",
            value=path,
        )
    if os.path.isdir(real):
        raise InputError(f"{path!r} is a folder; give a file name", field="output", value=path)
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise InputError(
            f"cannot write {path!r}: the folder {folder!r} does not exist",
            field="output",
            value=path,
        )
    handle, temporary = tempfile.mkstemp(prefix=".planner-", suffix=".tmp", dir=folder)
    written = 0
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, real)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return written
