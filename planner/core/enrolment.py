"""Enrolment requests, one at a time or from a CSV file (all or nothing)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from planner.core.dates import parse_date
from planner.core.errors import InputError

PARTICIPANT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
REQUIRED_COLUMNS = ("participant", "protocol", "arm", "site", "day1")
OPTIONAL_COLUMNS = ("weight_kg",)
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
    if not PARTICIPANT_PATTERN.fullmatch(code):
        raise InputError(
            f"participant code {code!r} is not allowed: use 1 to 64 of A-Z a-z 0-9 . _ - "
            "starting with a letter or digit (a study code only, never a name)"
        )
    return code


def parse_weight(text: str | float | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        weight = float(text)
    except ValueError:
        raise InputError(f"weight {text!r} is not a number of kilograms") from None
    if not 1 <= weight <= 400:
        raise InputError(f"weight {text!r} kg is not plausible (1 to 400 kg)")
    return weight


def read_csv(path: str) -> list[Enrolment]:
    """Every row of an enrolment CSV, or InputError naming the line."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CSV_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a CSV file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from None
    if len(raw) > MAX_CSV_BYTES:
        raise InputError(f"{path}: larger than {MAX_CSV_BYTES // 1_000_000} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text (bad byte at offset {error.start})") from None
    return list(parse_csv(text, path))


def parse_csv(text: str, source: str) -> Iterator[Enrolment]:
    if "\x00" in text:
        raise InputError(f"{source}: contains NUL bytes; not a CSV file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{source}: is empty; expected a header line") from None
    except csv.Error as error:
        raise InputError(f"{source} line 1: {error}") from None
    columns = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown or len(set(columns)) != len(columns):
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
        if len(set(columns)) != len(columns):
            problems.append("a column appears twice")
        raise InputError(
            f"{source} line 1: {'; '.join(problems)} "
            f"(expected participant,protocol,arm,site,day1[,weight_kg])"
        )
    seen: dict[str, int] = {}
    count = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or all(not cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                raise InputError(
                    f"{source} line {line}: has {len(cells)} fields, expected {len(columns)}"
                )
            row = {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}
            try:
                enrolment = Enrolment(
                    participant=check_participant_code(row["participant"]),
                    protocol=row["protocol"],
                    arm=row["arm"],
                    site=row["site"],
                    day1=parse_date(row["day1"], "day1"),
                    weight_kg=parse_weight(row.get("weight_kg")),
                    line=line,
                )
            except InputError as error:
                raise InputError(f"{source} line {line}: {error}") from None
            if enrolment.participant in seen:
                raise InputError(
                    f"{source} line {line}: participant {enrolment.participant!r} appears "
                    f"again (first on line {seen[enrolment.participant]})"
                )
            seen[enrolment.participant] = line
            count += 1
            yield enrolment
    except csv.Error as error:
        raise InputError(f"{source} line {reader.line_num}: {error}") from None
    if count == 0:
        raise InputError(f"{source}: has a header but no participants")
