"""Enrolment requests, one at a time or from a CSV file (all or nothing).

An :class:`Enrolment` is what a coordinator asks for: a participant code, a
protocol, an arm, a site, day 1 and optionally a weight. This module checks
what can be checked without a database (the code's spelling, a plausible
weight, a well-formed CSV file with one row per participant); that the
protocol, arm and site exist is checked by the application.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from planner.core.dates import parse_date
from planner.core.errors import InputError

PARTICIPANT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
REQUIRED_COLUMNS = ("participant", "protocol", "arm", "site", "day1")
OPTIONAL_COLUMNS = ("weight_kg",)
_EXPECTED_COLUMNS = "participant,protocol,arm,site,day1[,weight_kg]"
MAX_CSV_BYTES = 50_000_000


@dataclass(frozen=True, slots=True)
class Enrolment:
    participant: str
    protocol: str
    arm: str
    site: str
    day1: date
    weight_kg: float | None = None
    #: The line of the CSV file it came from (0 when typed on the command line).
    line: int = 0


def check_participant_code(code: str) -> str:
    """``code`` if it is a well-formed study code, else InputError."""
    if not PARTICIPANT_PATTERN.fullmatch(code):
        raise InputError(
            f"participant code {code!r} is not allowed: use 1 to 64 of A-Z a-z 0-9 . _ - "
            "starting with a letter or digit (a study code only, never a name)",
            field="participant",
            value=code,
            allowed="1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit",
        )
    return code


def parse_weight(text: str | float | None) -> float | None:
    """A weight in kilograms (None when not given), or InputError."""
    if text is None or text == "":
        return None
    try:
        weight = float(text)
    except ValueError:
        raise InputError(
            f"weight {text!r} is not a number of kilograms", field="weight_kg", value=text
        ) from None
    if not 1 <= weight <= 400:
        raise InputError(
            f"weight {text!r} kg is not plausible (1 to 400 kg)",
            field="weight_kg",
            value=text,
            allowed="1..400",
        )
    return weight


def read_csv(path: str) -> list[Enrolment]:
    """Every row of an enrolment CSV, or InputError naming the line."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CSV_BYTES + 1)
    except FileNotFoundError:
        raise _csv_error(f"{path}: no such file", path) from None
    except IsADirectoryError:
        raise _csv_error(f"{path}: is a folder, not a CSV file", path) from None
    except OSError as error:
        raise _csv_error(f"{path}: cannot be read ({error.strerror})", path) from None
    if len(raw) > MAX_CSV_BYTES:
        raise _csv_error(f"{path}: larger than {MAX_CSV_BYTES // 1_000_000} MB", path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        message = f"{path}: not UTF-8 text (bad byte at offset {error.start})"
        raise _csv_error(message, path) from None
    return list(parse_csv(text, path))


def parse_csv(text: str, source: str) -> Iterator[Enrolment]:
    """The enrolments of a CSV text, checked row by row; InputError names the line."""
    if "\x00" in text:
        raise _csv_error(f"{source}: contains NUL bytes; not a CSV file", source)
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = _read_header(reader, source)
    seen: dict[str, int] = {}
    try:
        for line, row in _rows(reader, columns, source):
            enrolment = _enrolment(row, line, source)
            if enrolment.participant in seen:
                raise _csv_error(
                    f"{source} line {line}: participant {enrolment.participant!r} appears "
                    f"again (first on line {seen[enrolment.participant]})",
                    source,
                )
            seen[enrolment.participant] = line
            yield enrolment
    except csv.Error as error:
        raise _csv_error(f"{source} line {reader.line_num}: {error}", source) from None
    if not seen:
        raise _csv_error(f"{source}: has a header but no participants", source)


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


def _rows(reader: Any, columns: list[str], source: str) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, {column: cell})`` for each non-blank row, cells stripped.

    ``reader`` is a ``csv.reader`` (its type is private), read for its
    ``line_num`` too.
    """
    for cells in reader:
        line: int = reader.line_num
        if not cells or all(not cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            raise _csv_error(
                f"{source} line {line}: has {len(cells)} fields, expected {len(columns)}", source
            )
        yield line, {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}


def _enrolment(row: dict[str, str], line: int, source: str) -> Enrolment:
    """One row as an Enrolment; InputError names the line."""
    try:
        return Enrolment(
            participant=check_participant_code(row["participant"]),
            protocol=row["protocol"],
            arm=row["arm"],
            site=row["site"],
            day1=parse_date(row["day1"], "day1"),
            weight_kg=parse_weight(row.get("weight_kg")),
            line=line,
        )
    except InputError as error:
        raise _csv_error(f"{source} line {line}: {error}", source) from None
