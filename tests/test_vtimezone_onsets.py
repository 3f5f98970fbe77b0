"""Every VTIMEZONE observance's onset is where RFC 5545 §3.6.5 puts it.

An observance's ``DTSTART`` is the local time of the change in the offset in
force before it (``TZOFFSETFROM``), so onset minus ``TZOFFSETFROM`` is the
instant the zone changes (the RFC's own example: US Eastern daylight time
begins at 02:00). icalendar wrote changes to a larger offset at the local time
after them (New York 03:00, London 02:00), an hour late for a reader that
follows the RFC, as ical.js does. Checked for every zone this computer has,
read back by icalendar's parser, against Python's zoneinfo.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from planner.core.ics.zones import vtimezone

ZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})


def changes(zone: str, first: date, last: date) -> list[tuple[datetime, Any, Any]]:
    """``(onset, from, to)`` of each observance that changes the offset."""
    block = vtimezone(zone, first, last)
    calendar = Calendar.from_ical(b"BEGIN:VCALENDAR\r\n" + block + b"END:VCALENDAR\r\n")
    found = []
    for observance in calendar.walk("VTIMEZONE")[0].subcomponents:
        offset_from, offset_to = observance["TZOFFSETFROM"].td, observance["TZOFFSETTO"].td
        if offset_from != offset_to:
            found.append((observance["DTSTART"].dt, offset_from, offset_to))
    return found


def test_the_rfc_example_and_london() -> None:
    assert changes("America/New_York", date(2027, 1, 5), date(2027, 12, 1)) == [
        (datetime(2027, 3, 14, 2), timedelta(hours=-5), timedelta(hours=-4)),
        (datetime(2027, 11, 7, 2), timedelta(hours=-4), timedelta(hours=-5)),
    ]
    london = changes("Europe/London", date(2027, 1, 5), date(2027, 12, 1))
    assert [onset for onset, _, _ in london] == [
        datetime(2027, 3, 28, 1),
        datetime(2027, 10, 31, 2),
    ]


def test_every_zone_changes_at_its_onset_minus_tzoffsetfrom() -> None:
    checked, wrong = 0, []
    for zone in ZONES:
        info = zoneinfo.ZoneInfo(zone)
        for onset, offset_from, offset_to in changes(zone, date(2026, 1, 1), date(2027, 12, 31)):
            instant = (onset - offset_from).replace(tzinfo=UTC)
            before = (instant - timedelta(seconds=1)).astimezone(info).utcoffset()
            if (before, instant.astimezone(info).utcoffset()) != (offset_from, offset_to):
                wrong.append(f"{zone} {onset}")
            checked += 1
    assert checked > 1000  # a few hundred zones change twice a year
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("zone", ["Australia/Lord_Howe", "America/Santiago", "Pacific/Apia"])
def test_half_hour_and_southern_changes(zone: str) -> None:
    """Lord Howe moves by 30 minutes; Chile changes at midnight; Samoa moved
    across the date line (2011) and dropped daylight saving time (2021)."""
    info = zoneinfo.ZoneInfo(zone)
    for onset, offset_from, offset_to in changes(zone, date(2010, 1, 1), date(2027, 12, 31)):
        instant = (onset - offset_from).replace(tzinfo=UTC)
        assert instant.astimezone(info).utcoffset() == offset_to, (zone, onset)
        assert (instant - timedelta(seconds=1)).astimezone(info).utcoffset() == offset_from
