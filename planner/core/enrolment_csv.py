"""Enrolment CSV files (``participant,protocol,arm,site,day1[,weight_kg]``),
read in a streaming fashion: all or nothing, in bounded memory.

:func:`check_csv` reads a whole file once and keeps only what it must (the
participant codes, to find one given twice, and the site codes); a file of
more than :data:`MAX_CSV_ROWS` participants is refused there, before anything
is written. :func:`stream_csv` then reads the rows again, one at a time, for
the application to enrol in batches inside one transaction.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any, TypeVar

from planner.core.dates import parse_date
from planner.core.enrolment import Enrolment, check_participant_code, parse_weight
from planner.core.errors import InputError

REQUIRED_COLUMNS = ("participant", "protocol", "arm", "site", "day1")
OPTIONAL_COLUMNS = ("weight_kg",)
_EXPECTED_COLUMNS = "participant,protocol,arm,site,day1[,weight_kg]"
#: The most participants one CSV file may enrol. Memory does not grow with
#: the file (beyond its codes), but the one transaction that enrols it does.
MAX_CSV_ROWS = 1_000_000
#: The largest file accepted: a million rows of about 250 characters.
MAX_CSV_BYTES = 256_000_000
_CHUNK = 1 << 20
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CsvSummary:
    """What :func:`check_csv` found in a whole file: participants and sites."""

    participants: int
    sites: frozenset[str]


def check_csv(path: str) -> CsvSummary:
    """Read an enrolment CSV file through once, keeping only its participant
    codes (to find one given twice) and site codes: how many participants it
    enrols, or InputError naming the first wrong line.

    A file of more than :data:`MAX_CSV_ROWS` participants is refused as soon
    as the row after the limit is read.
    """
    _check_bytes(path)
    seen: set[str] = set()  # lower-cased: WUH-001 and wuh-001 are one participant
    sites: set[str] = set()
    for enrolment in stream_csv(path):
        code = enrolment.participant
        if code.lower() in seen:
            first = next(e for e in stream_csv(path) if e.participant.lower() == code.lower())
            same = "" if first.participant == code else f" as {first.participant!r}"
            raise _csv_error(
                f"{path} line {enrolment.line}: participant {code!r} appears "
                f"again (first on line {first.line}{same})",
                path,
            )
        if len(seen) == MAX_CSV_ROWS:
            raise _csv_error(
                f"{path}: holds more than {MAX_CSV_ROWS:,} participants, the most one file "
                "may enrol; split it into several files",
                path,
            )
        seen.add(code.lower())
        sites.add(enrolment.site)
    if not seen:
        raise _csv_error(f"{path}: has a header but no participants", path)
    return CsvSummary(len(seen), frozenset(sites))


def stream_csv(path: str) -> Iterator[Enrolment]:
    """The rows of an enrolment CSV file, one at a time, each checked on its
    own (use :func:`check_csv` first for the file as a whole)."""
    try:
        with _open(path, text=True) as handle:
            reader = csv.reader(handle)
            columns = _read_header(reader, path)
            parse = _RowParser(columns, path)
            try:
                for line, cells in _rows(reader, len(columns), path):
                    yield parse(cells, line)
            except csv.Error as error:
                raise _csv_error(f"{path} line {reader.line_num}: {error}", path) from None
    except UnicodeDecodeError:  # changed since it was checked
        raise _csv_error(f"{path}: not UTF-8 text", path) from None


def read_csv(path: str) -> list[Enrolment]:
    """Every row of an enrolment CSV, or InputError naming the line."""
    check_csv(path)
    return list(stream_csv(path))


def _open(path: str, text: bool = False) -> IO[Any]:
    """The file opened for reading, or InputError saying why it cannot be."""
    try:
        if text:
            return open(path, encoding="utf-8-sig", newline="")
        return open(path, "rb")
    except FileNotFoundError:
        raise _csv_error(f"{path}: no such file", path) from None
    except IsADirectoryError:
        raise _csv_error(f"{path}: is a folder, not a CSV file", path) from None
    except OSError as error:
        raise _csv_error(f"{path}: cannot be read ({error.strerror})", path) from None


def _check_bytes(path: str) -> None:
    """Refuse a file that is too large, not UTF-8, or holds NUL bytes; read in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    size, nul = 0, False
    with _open(path) as handle:
        chunk = handle.read(_CHUNK).removeprefix(codecs.BOM_UTF8)
        while chunk:
            if size + len(chunk) > MAX_CSV_BYTES:
                raise _csv_error(f"{path}: larger than {MAX_CSV_BYTES // 1_000_000} MB", path)
            _decode(decoder, chunk, size, path)
            size, nul = size + len(chunk), nul or b"\x00" in chunk
            chunk = handle.read(_CHUNK)
    _decode(decoder, b"", size, path, final=True)
    if nul:
        raise _csv_error(f"{path}: contains NUL bytes; not a CSV file", path)


def _decode(decoder: Any, chunk: bytes, before: int, path: str, final: bool = False) -> None:
    """Decode a chunk (``before`` bytes came earlier); InputError at the first bad byte."""
    pending = len(decoder.getstate()[0])
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as error:
        offset = before - pending + error.start
        message = f"{path}: not UTF-8 text (bad byte at offset {offset})"
        raise _csv_error(message, path) from None


def _csv_error(message: str, source: str) -> InputError:
    """An error in the CSV file ``source`` (the ``csv`` input)."""
    return InputError(message, field="csv", value=source)


def _read_header(reader: Iterator[list[str]], source: str) -> list[str]:
    """The column names of the first line, lower-cased, or InputError."""
    try:
        header = next(reader)
    except StopIteration:
        raise _csv_error(f"{source}: is empty; expected a header line", source) from None
    except csv.Error as error:
        raise _csv_error(f"{source} line 1: {error}", source) from None
    columns = [name.strip().lower() for name in header]
    _check_separator(columns, source)
    problems = _column_problems(columns)
    if problems:
        raise InputError(
            f"{source} line 1: {'; '.join(problems)} (expected {_EXPECTED_COLUMNS})",
            field="csv",
            value=source,
            allowed=_EXPECTED_COLUMNS,
        )
    return columns


#: Separators spreadsheets write instead of commas, in words.
_OTHER_SEPARATORS = {";": "semicolons (;)", "\t": "tabs"}


def _check_separator(columns: list[str], source: str) -> None:
    """Refuse a header that is one column holding another separator."""
    if len(columns) != 1:
        return
    for separator, words in _OTHER_SEPARATORS.items():
        if separator in columns[0]:
            raise InputError(
                f"{source} line 1: columns are separated by {words}; "
                "the file must be separated by commas (,)",
                field="csv",
                value=source,
                allowed=_EXPECTED_COLUMNS,
            )


def _column_problems(columns: list[str]) -> list[str]:
    """What is wrong with a header: missing, unknown or repeated columns."""
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
    if len(set(columns)) != len(columns):
        problems.append("a column appears twice")
    return problems


def _rows(reader: Any, width: int, source: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` for each non-blank row, cells stripped.

    ``reader`` is a ``csv.reader`` (its type is private), read for its
    ``line_num`` too.
    """
    for cells in reader:
        line: int = reader.line_num
        if not cells or (not cells[0].strip() and all(not cell.strip() for cell in cells)):
            continue
        if len(cells) != width:
            raise _csv_error(
                f"{source} line {line}: has {len(cells)} fields, expected {width}", source
            )
        yield line, [cell.strip() for cell in cells]


#: Distinct day 1 dates and weights remembered while reading one file.
_REMEMBERED = 10_000


class _RowParser:
    """Rows of one file as Enrolments; each distinct day 1 and weight is parsed once."""

    def __init__(self, columns: list[str], source: str) -> None:
        at = {name: index for index, name in enumerate(columns)}
        self._at = tuple(at[name] for name in REQUIRED_COLUMNS)
        self._weight_at = at.get("weight_kg")
        self._source = source
        self._days: dict[str, date] = {}
        self._weights: dict[str, float | None] = {}

    def __call__(self, cells: list[str], line: int) -> Enrolment:
        """One row as an Enrolment; InputError names the line."""
        participant, protocol, arm, site, day1 = (cells[index] for index in self._at)
        weight = "" if self._weight_at is None else cells[self._weight_at]
        try:
            return Enrolment(
                participant=check_participant_code(participant),
                protocol=protocol,
                arm=arm,
                site=site,
                day1=_remembered(self._days, day1, lambda: parse_date(day1, "day1")),
                weight_kg=_remembered(self._weights, weight, lambda: parse_weight(weight)),
                line=line,
            )
        except InputError as error:
            raise _csv_error(f"{self._source} line {line}: {error}", self._source) from None


def _remembered(known: dict[str, T], text: str, parse: Callable[[], T]) -> T:
    if text in known:
        return known[text]
    value = parse()
    if len(known) < _REMEMBERED:
        known[text] = value
    return value
