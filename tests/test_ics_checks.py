"""Each check in tests/ics_checks.py passes a good file and catches a broken one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests import ics_checks

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def good() -> bytes:
    """A produced file with VTIMEZONE, timed and date-only events, alarms, folds."""
    return (GOLDEN / "cs-huc-mscs-new-york-alarm.ics").read_bytes()


def _once(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def mutate(data: bytes) -> bytes:
        assert old in data, old
        return data.replace(old, new, 1)

    return mutate


def _without_vtimezone(data: bytes) -> bytes:
    start = data.index(b"BEGIN:VTIMEZONE\r\n")
    end = data.index(b"END:VTIMEZONE\r\n") + len(b"END:VTIMEZONE\r\n")
    return data[:start] + data[end:]


def _unfold_first_folded_line(data: bytes) -> bytes:
    assert b"\r\n " in data
    return data.replace(b"\r\n ", b"", 1)


def _second_uid_like_first(data: bytes) -> bytes:
    uids = [line for line in data.split(b"\r\n") if line.startswith(b"UID:")]
    return data.replace(uids[1], uids[0])


NY = b"DTSTART;TZID=America/New_York:20260302T090000"
BROKEN: list[tuple[Callable[[bytes], list[str]], str, Callable[[bytes], bytes]]] = [
    (ics_checks.check_crlf, "bare LF", _once(b"SEQUENCE:0\r\n", b"SEQUENCE:0\n")),
    (ics_checks.check_crlf, "bare CR", _once(b"SEQUENCE:0\r\n", b"SEQUENCE:0\r")),
    (ics_checks.check_crlf, "no final CRLF", lambda d: d.removesuffix(b"\r\n")),
    (ics_checks.check_line_length, "a long line", _unfold_first_folded_line),
    (ics_checks.check_line_length, "a split character", _once(b"\xc2\xb7", b"\xc2\r\n \xb7")),
    (ics_checks.check_structure, "an END missing", _once(b"END:VALARM\r\n", b"")),
    (ics_checks.check_structure, "an END mismatched", _once(b"END:VALARM", b"END:VEVENT")),
    (ics_checks.check_structure, "two calendars", lambda d: d + d),
    (
        ics_checks.check_structure,
        "no component",
        lambda d: d[: d.index(b"BEGIN:", 1)] + b"END:VCALENDAR\r\n",
    ),
    (ics_checks.check_structure, "a line without ':'", _once(b"TRANSP:OPAQUE", b"TRANSP")),
    (ics_checks.check_calendar_properties, "no METHOD", _once(b"METHOD:PUBLISH\r\n", b"")),
    (ics_checks.check_calendar_properties, "no PRODID", _once(b"PRODID:", b"X-PRODID:")),
    (ics_checks.check_calendar_properties, "VERSION 1.0", _once(b"VERSION:2.0", b"VERSION:1.0")),
    (
        ics_checks.check_calendar_properties,
        "two METHODs",
        _once(b"METHOD:PUBLISH\r\n", b"METHOD:PUBLISH\r\nMETHOD:REQUEST\r\n"),
    ),
    (ics_checks.check_tzids, "no VTIMEZONE", _without_vtimezone),
    (ics_checks.check_tzids, "an unknown TZID", _once(NY, NY.replace(b"New_York", b"Chicago"))),
    (
        ics_checks.check_no_floating,
        "a floating DTSTART",
        _once(NY, b"DTSTART:20260302T090000"),
    ),
    (
        ics_checks.check_no_floating,
        "a floating DTSTAMP",
        _once(b"DTSTAMP:20260227T140000Z", b"DTSTAMP:20260227T140000"),
    ),
    (
        ics_checks.check_dtend_after_dtstart,
        "DTEND before DTSTART",
        _once(b"New_York:20260302T110000", b"New_York:20260302T080000"),
    ),
    (
        ics_checks.check_dtend_after_dtstart,
        "DTEND equal to DTSTART",
        _once(b"New_York:20260302T110000", b"New_York:20260302T090000"),
    ),
    (
        ics_checks.check_dtend_after_dtstart,
        "a date-only DTEND on the start day",
        _once(b"DTEND;VALUE=DATE:20260306", b"DTEND;VALUE=DATE:20260305"),
    ),
    (
        ics_checks.check_dtend_after_dtstart,
        "DTEND a date, DTSTART a date-time",
        _once(b"DTEND;TZID=America/New_York:20260302T110000", b"DTEND;VALUE=DATE:20260303"),
    ),
    (ics_checks.check_dtend_after_dtstart, "no DTSTART", _once(NY + b"\r\n", b"")),
    (ics_checks.check_unique_uids, "a UID used twice", _second_uid_like_first),
    (ics_checks.check_unique_uids, "an event without UID", _once(b"\r\nUID:", b"\r\nX-UID:")),
]


def test_the_good_file_passes_every_check(good: bytes) -> None:
    assert ics_checks.problems(good) == []
    ics_checks.assert_valid(good)


@pytest.mark.parametrize(
    ("check", "mutate"),
    [pytest.param(check, mutate, id=f"{check.__name__}: {what}") for check, what, mutate in BROKEN],
)
def test_each_check_catches_a_broken_file(
    good: bytes, check: Callable[[bytes], list[str]], mutate: Callable[[bytes], bytes]
) -> None:
    broken = mutate(good)
    assert broken != good
    assert check(good) == []
    assert check(broken), f"{check.__name__} missed it"
    assert ics_checks.problems(broken)
    with pytest.raises(AssertionError, match="iCalendar checks failed"):
        ics_checks.assert_valid(broken)


def test_every_check_is_exercised() -> None:
    assert {check for check, _, _ in BROKEN} == set(ics_checks.CHECKS)


def test_parse_unfolds_and_reads_quoted_parameters() -> None:
    data = (
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"
        b'DESCRIPTION;ALTREP="cid:x;y":a long\r\n  value\r\n'
        b"UID:u\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    first, second = ics_checks.parse(data)
    assert (first.number, first.path, first.name) == (3, ("VCALENDAR", "VEVENT"), "DESCRIPTION")
    assert first.params == {"ALTREP": "cid:x;y"}
    assert first.value == "a long value"
    assert (second.number, second.value) == (5, "u")
