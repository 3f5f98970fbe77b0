"""Our own structural checks of an iCalendar file, independent of any parser.

Each ``check_*`` function takes the raw bytes of a file and returns a list of
problems (empty when the file passes). :func:`problems` runs them all and
:func:`assert_valid` fails with every problem listed. Used on every file the
iCalendar tests produce; ``tests/test_ics_checks.py`` proves that each check
catches a deliberately broken file.

The content-line parser here is deliberately small and strict: it unfolds
CRLF + space/tab, splits ``NAME;PARAM=VALUE:value`` (respecting quoted
parameter values) and tracks BEGIN/END nesting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

MAX_OCTETS = 75
DATE_TIME = re.compile(r"(\d{8})T(\d{6})(Z?)")
DATE_VALUE = re.compile(r"\d{8}")


@dataclass(frozen=True)
class Line:
    """One unfolded content line and the components it sits in."""

    number: int  # physical line number (1-based) where it starts
    path: tuple[str, ...]  # e.g. ("VCALENDAR", "VEVENT")
    component: int  # serial number of the innermost component in the file
    name: str
    params: dict[str, str]
    value: str


def physical_lines(data: bytes) -> list[bytes]:
    """The physical lines, split on CRLF (the final empty piece dropped)."""
    pieces = data.split(b"\r\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    return pieces


def _split(text: str) -> tuple[str, dict[str, str], str]:
    """``NAME;P=V;Q="x:y":value`` -> (NAME, {P: V, Q: x:y}, value)."""
    in_quotes = False
    for index, char in enumerate(text):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            head, value = text[:index], text[index + 1 :]
            break
    else:
        raise ValueError(f"no ':' in content line {text!r}")
    parts: list[str] = []
    current = ""
    in_quotes = False
    for char in head:
        if char == '"':
            in_quotes = not in_quotes
        if char == ";" and not in_quotes:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    name, params = parts[0].upper(), {}
    for part in parts[1:]:
        key, sep, raw = part.partition("=")
        if not sep:
            raise ValueError(f"parameter without '=' in {text!r}")
        params[key.upper()] = raw.strip('"')
    return name, params, value


def parse(data: bytes) -> list[Line]:
    """Unfold and split ``data``; raises ValueError on structural errors."""
    logical: list[tuple[int, str]] = []  # (first physical line number, text)
    for number, physical in enumerate(data.decode("utf-8").split("\r\n"), 1):
        if physical[:1] in (" ", "\t") and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + physical[1:])
        elif physical:
            logical.append((number, physical))
    lines: list[Line] = []
    stack: list[tuple[str, int]] = []
    serial = 0
    for number, raw in logical:
        name, params, value = _split(raw)
        if name == "BEGIN":
            serial += 1
            stack.append((value.upper(), serial))
            continue
        if name == "END":
            if not stack or stack[-1][0] != value.upper():
                raise ValueError(f"line {number}: END:{value} does not close {stack[-1:]}")
            stack.pop()
            continue
        if not stack:
            raise ValueError(f"line {number}: {name} outside any component")
        path = tuple(component for component, _ in stack)
        lines.append(Line(number, path, stack[-1][1], name, params, value))
    if stack:
        raise ValueError(f"components left open at the end: {stack}")
    return lines


def _lines_or_problem(data: bytes) -> tuple[list[Line], list[str]]:
    try:
        return parse(data), []
    except (ValueError, UnicodeDecodeError) as error:
        return [], [f"cannot parse: {error}"]


# --------------------------------------------------------------------------- checks


def check_crlf(data: bytes) -> list[str]:
    """Every line ends in CRLF: no bare LF, no bare CR, CRLF at the very end."""
    found = []
    if re.search(rb"(?<!\r)\n", data):
        found.append("bare LF (line not ended by CRLF)")
    if re.search(rb"\r(?!\n)", data):
        found.append("bare CR")
    if not data.endswith(b"\r\n"):
        found.append("file does not end with CRLF")
    return found


def check_line_length(data: bytes) -> list[str]:
    """No physical line over 75 octets, and none splits a UTF-8 character."""
    found = []
    for number, line in enumerate(physical_lines(data), 1):
        if len(line) > MAX_OCTETS:
            found.append(f"line {number} has {len(line)} octets (> {MAX_OCTETS})")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            found.append(f"line {number} is not UTF-8 on its own (a split character?)")
    return found


def check_structure(data: bytes) -> list[str]:
    """One VCALENDAR, balanced BEGIN/END, parsable content lines."""
    _lines, found = _lines_or_problem(data)
    if found:
        return found
    if not data.startswith(b"BEGIN:VCALENDAR\r\n"):
        found.append("does not start with BEGIN:VCALENDAR")
    if not data.endswith(b"END:VCALENDAR\r\n"):
        found.append("does not end with END:VCALENDAR")
    if data.count(b"BEGIN:VCALENDAR\r\n") != 1:
        found.append("not exactly one VCALENDAR")
    if not any(len(line.path) > 1 for line in _lines):  # a property inside a component
        found.append("no component in the VCALENDAR (RFC 5545 3.6 wants at least one)")
    return found


def check_calendar_properties(data: bytes) -> list[str]:
    """METHOD, PRODID and VERSION:2.0 present, once each, on the calendar."""
    lines, found = _lines_or_problem(data)
    if found:
        return found
    top = [line for line in lines if line.path == ("VCALENDAR",)]
    for name in ("METHOD", "PRODID", "VERSION"):
        count = sum(line.name == name for line in top)
        if count != 1:
            found.append(f"calendar has {count} {name} properties, not 1")
    if any(line.name == "VERSION" and line.value != "2.0" for line in top):
        found.append("VERSION is not 2.0")
    return found


def check_tzids(data: bytes) -> list[str]:
    """Every TZID parameter names a VTIMEZONE of the file."""
    lines, found = _lines_or_problem(data)
    if found:
        return found
    defined = {line.value for line in lines if line.path[-1] == "VTIMEZONE" and line.name == "TZID"}
    for line in lines:
        tzid = line.params.get("TZID")
        if tzid is not None and tzid not in defined:
            found.append(f"line {line.number}: {line.name} uses TZID {tzid} without VTIMEZONE")
    return found


def check_no_floating(data: bytes) -> list[str]:
    """Outside VTIMEZONE, every DATE-TIME value has a TZID or ends in Z."""
    lines, found = _lines_or_problem(data)
    if found:
        return found
    for line in lines:
        if "VTIMEZONE" in line.path:
            continue  # observance onsets are local time by definition
        for value in line.value.split(","):
            match = DATE_TIME.fullmatch(value)
            if match and not match[3] and "TZID" not in line.params:
                found.append(f"line {line.number}: floating date-time {line.name}:{value}")
    return found


def _moment(line: Line) -> date | datetime:
    if line.params.get("VALUE") == "DATE":
        if not DATE_VALUE.fullmatch(line.value):
            raise ValueError(f"line {line.number}: bad DATE {line.value!r}")
        return datetime.strptime(line.value, "%Y%m%d").date()
    match = DATE_TIME.fullmatch(line.value)
    if not match:
        raise ValueError(f"line {line.number}: bad DATE-TIME {line.value!r}")
    naive = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
    if match[3]:
        return naive.replace(tzinfo=UTC)
    tzid = line.params.get("TZID")
    if tzid is None:
        return naive  # floating: reported by check_no_floating
    return naive.replace(tzinfo=ZoneInfo(tzid))  # fold=0: RFC 5545 first occurrence


def _events(lines: list[Line]) -> list[list[Line]]:
    """The properties of each VEVENT (not of its VALARMs), in order."""
    events: dict[int, list[Line]] = {}
    for line in lines:
        if line.path[-1] == "VEVENT":
            events.setdefault(line.component, []).append(line)
    return list(events.values())


def _dtend_problem(start: date | datetime, end: date | datetime) -> str | None:
    if isinstance(start, datetime) != isinstance(end, datetime):
        return "DTSTART and DTEND differ in value type"
    floating = isinstance(start, datetime) and (start.tzinfo is None) != (
        isinstance(end, datetime) and end.tzinfo is None
    )
    if floating:
        return "one of DTSTART/DTEND is floating"
    if not end > start:  # type: ignore[operator]
        return f"DTEND {end} is not after DTSTART {start}"
    return None


def check_dtend_after_dtstart(data: bytes) -> list[str]:
    """Each event has a DTSTART, and a DTEND (if any) of the same type, later."""
    lines, found = _lines_or_problem(data)
    if found:
        return found
    for event in _events(lines):
        props = {line.name: line for line in event}
        uid = props["UID"].value if "UID" in props else "?"
        if "DTSTART" not in props:
            found.append(f"event {uid}: no DTSTART")
            continue
        if "DTEND" not in props:
            continue
        try:
            problem = _dtend_problem(_moment(props["DTSTART"]), _moment(props["DTEND"]))
        except ValueError as error:
            problem = str(error)
        if problem:
            found.append(f"event {uid}: {problem}")
    return found


def check_unique_uids(data: bytes) -> list[str]:
    """Every VEVENT has exactly one UID, and no two share one."""
    lines, found = _lines_or_problem(data)
    if found:
        return found
    seen: set[str] = set()
    for event in _events(lines):
        uids = [line.value for line in event if line.name == "UID"]
        if len(uids) != 1:
            found.append(f"an event has {len(uids)} UIDs")
            continue
        if uids[0] in seen:
            found.append(f"UID {uids[0]} is used twice")
        seen.add(uids[0])
    return found


CHECKS: tuple[Callable[[bytes], list[str]], ...] = (
    check_crlf,
    check_line_length,
    check_structure,
    check_calendar_properties,
    check_tzids,
    check_no_floating,
    check_dtend_after_dtstart,
    check_unique_uids,
)


def problems(data: bytes) -> list[str]:
    """Every problem any check finds in ``data``."""
    return [f"{check.__name__}: {problem}" for check in CHECKS for problem in check(data)]


def assert_valid(data: bytes) -> None:
    found = problems(data)
    assert not found, "iCalendar checks failed:\n" + "\n".join(found)
