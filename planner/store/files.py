"""Writing output files: whole or not at all, and never over the database."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping

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


def _temporary_copy(folder: str, chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write ``chunks`` to a new temporary file in ``folder``: its path and size."""
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
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary, written


def write_files_atomically(
    folder: str, files: Mapping[str, Iterable[bytes]], *, protect: set[str]
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
            temporaries[target], sizes[name] = _temporary_copy(real, chunks)
        for target, temporary in temporaries.items():
            os.replace(temporary, target)
    except BaseException:
        for temporary in temporaries.values():
            if os.path.exists(temporary):
                os.unlink(temporary)
        if created:
            os.rmdir(real)
        raise
    return sizes
