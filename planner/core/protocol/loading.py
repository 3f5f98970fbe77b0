"""Loading a protocol: read a file, parse its TOML, validate it, fingerprint it.

Everything is checked before anything is used: :func:`validate` reports every
problem at once, as a :class:`~planner.core.errors.ProtocolError` that names
the file, the place in the file (``schedule[3].window.after``) and what is
wrong, first the problems of shape (:mod:`planner.core.protocol.messages`),
then, once the shape is right, those across fields
(:mod:`planner.core.protocol.checks`).
"""

from __future__ import annotations

import hashlib
import tomllib
from typing import Any

from pydantic import ValidationError

from planner.core.errors import ProtocolError
from planner.core.protocol.checks import check_semantics
from planner.core.protocol.messages import describe
from planner.core.protocol.model import StudyProtocol

#: The largest protocol file read, in bytes.
MAX_FILE_BYTES = 2_000_000
#: What a file of tables or arrays nested hundreds deep gets (Python's parser
#: and validator recurse once per level).
TOO_DEEP = "has tables or arrays nested too deeply; a protocol needs a few levels"


def parse(text: str, source: str = "<protocol>") -> StudyProtocol:
    """Parse and validate a protocol from TOML text; raise ProtocolError."""
    try:
        data = tomllib.loads(text)
        return validate(data, source)
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(source, [("", f"is not valid TOML: {error}")]) from None
    except RecursionError:
        raise ProtocolError(source, [("", TOO_DEEP)]) from None


def load(path: str) -> StudyProtocol:
    """Read, parse and validate a protocol file."""
    return parse(read_text(path), path)


def read_text(path: str) -> str:
    """The text of a protocol file, or ProtocolError saying why it cannot be read."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ProtocolError(path, [("", "no such file")]) from None
    except IsADirectoryError:
        raise ProtocolError(path, [("", "is a folder, not a protocol file")]) from None
    except OSError as error:
        raise ProtocolError(path, [("", f"cannot be read ({error.strerror})")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ProtocolError(path, [("", "is larger than 2 MB; a protocol is a small file")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProtocolError(
            path, [("", f"is not UTF-8 text (bad byte at offset {error.start})")]
        ) from None


def validate(data: Any, source: str = "<protocol>") -> StudyProtocol:
    """A protocol from parsed TOML data, or ProtocolError with every problem."""
    try:
        protocol = StudyProtocol.model_validate(data)
    except ValidationError as error:
        described = [describe(e) for e in error.errors()]
        raise ProtocolError(source, list(dict.fromkeys(described))) from None
    except RecursionError:
        raise ProtocolError(source, [("", TOO_DEEP)]) from None
    problems = list(check_semantics(protocol))
    if problems:
        raise ProtocolError(source, problems)
    return protocol


def fingerprint(text: str) -> str:
    """A content hash of a protocol's source, to tell versions apart."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
