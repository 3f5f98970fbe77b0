"""Time zones in a calendar: VTIMEZONE blocks, zone ranges and timed start and end.

A timed visit is written as ``DTSTART;TZID=<zone>`` and ``DTEND`` in the same
TZID, and the calendar carries one ``VTIMEZONE`` per zone, built by
icalendar's ``Timezone.from_tzid`` for the dates the visits need
(:func:`zone_ranges`) padded and widened to whole years. Daylight-saving edge
cases are resolved here, the way RFC 5545 §3.3.5 reads a TZID time, but
written so that no client has to apply that rule (see :func:`timed`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard
from icalendar.parser import param_value

from planner.core.dates import zone_info as stored_zone
from planner.core.ics.facts import event_date
from planner.core.ics.text import utc, wall
from planner.core.visits import VisitRecord

#: VTIMEZONE history starts this long before the first timed visit of a zone.
ZONE_PAD_BEFORE = timedelta(days=1)
#: VTIMEZONE history ends this long after the last timed visit of a zone.
ZONE_PAD_AFTER = timedelta(days=2)
#: The longest a timed visit may last, as in protocols; ZONE_PAD_AFTER relies on it.
MAX_MINUTES = 24 * 60
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def zone_ranges(visits: Iterable[VisitRecord]) -> dict[str, tuple[date, date]]:
    """The ``zones`` argument of :func:`render`: first and last date of timed visits per zone."""
    ranges: dict[str, tuple[date, date]] = {}
    for visit in visits:
        if visit.time is None:
            continue
        day = event_date(visit)
        first, last = ranges.get(visit.timezone, (day, day))
        ranges[visit.timezone] = (min(first, day), max(last, day))
    return ranges


@lru_cache(maxsize=256)
def zone_info(name: str) -> ZoneInfo:
    """The zone named ``name``; a PlannerError naming it if this computer lacks it."""
    return stored_zone(name)


@lru_cache(maxsize=256)
def _tzid(name: str) -> bytes:
    # Parameters.to_ical() would drop a TZID of "UTC"; a zone named UTC still
    # gets its VTIMEZONE, so the parameter is always written.
    return f";TZID={param_value(name)}:".encode()


def _local_or_utc(moment: datetime, zone: str) -> bytes:
    """``;TZID=<zone>:<wall time>``, or ``:<UTC>Z`` for a repeated wall time."""
    local = moment.astimezone(zone_info(zone))
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return b":" + utc(moment)
    return _tzid(zone) + wall(local.replace(tzinfo=None))


@lru_cache(maxsize=4096)
def timed(zone: str, day: date, hhmm: str, minutes: int) -> tuple[bytes, bytes]:
    """The DTSTART and DTEND values (with parameters) of a timed visit.

    DTEND is ``minutes`` later in elapsed time. A local time that does not
    exist (the spring-forward gap, e.g. 02:30 on 2026-03-08 in New York) is
    taken with the offset in force before the gap and written as the
    wall-clock time it really is (03:30 EDT). A local time that occurs twice
    (the fall-back hour, e.g. 01:30 on 2026-11-01 in New York) means its first
    occurrence. TZID form cannot say which occurrence is meant (a reader has
    to know the RFC's first-occurrence rule) and cannot express the second one
    at all, so a DTSTART or DTEND in the repeated hour, in either occurrence,
    is written in UTC (``...Z``): exact for every reader. All other times keep
    the TZID form.
    """
    match = _TIME.fullmatch(hhmm)
    if match is None:
        raise ValueError(f"time {hhmm!r} is not HH:MM")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValueError(f"duration of {minutes} minutes is not within 1 to {MAX_MINUTES}")
    wall_time = datetime(day.year, day.month, day.day, int(match[1]), int(match[2]))
    # fold=0: a repeated time means its first occurrence, a skipped time is
    # read with the offset before the gap (RFC 5545 §3.3.5).
    start = wall_time.replace(tzinfo=zone_info(zone)).astimezone(UTC)
    end = start + timedelta(minutes=minutes)
    return _local_or_utc(start, zone), _local_or_utc(end, zone)


@lru_cache(maxsize=64)
def _year_start(day: date, *, following: bool = False) -> date:
    """1 January of ``day``'s year (of the next year with ``following``).

    Whole years: a client that keeps the first VTIMEZONE it sees for a TZID
    (vobject does, process-wide) then still reads later exports right.
    """
    return date(day.year + (1 if following else 0), 1, 1)


def vtimezone(zone: str, first: date, last: date) -> bytes:
    """The VTIMEZONE of ``zone`` for visits from ``first`` to ``last``, padded.

    The range is padded by :data:`ZONE_PAD_BEFORE` before (the first
    observance starts at midnight of that day) and :data:`ZONE_PAD_AFTER`
    after (icalendar's range ends at midnight *starting* the last day, and a
    visit may end the next day: a duration is at most 24 h), then widened to
    whole calendar years.

    icalendar gives one observance per distinct offset change, with its first
    onset as DTSTART and later ones as RDATE. ical.js (Thunderbird) ignores
    DTSTART once an observance has an RDATE, and so loses the first change of
    every pair of years; each onset is therefore written as an observance of
    its own, which every reader understands alike.
    """
    zone_info(zone)  # a clear error for an unknown zone
    first_year = _year_start(first - ZONE_PAD_BEFORE)
    return _vtimezone(zone, first_year, _year_start(last + ZONE_PAD_AFTER, following=True))


@lru_cache(maxsize=256)
def _vtimezone(zone: str, first_date: date, last_date: date) -> bytes:
    """The VTIMEZONE of ``zone`` over whole years: a pure function of its
    arguments (and of the machine's tzdata), built once per process since
    building one takes icalendar far longer than rendering thousands of events."""
    timezone = Timezone.from_tzid(zone, first_date=first_date, last_date=last_date)
    timezone.subcomponents = list(_single_observances(timezone, zone_info(zone)))
    block: bytes = timezone.to_ical()  # Component.to_ical is not annotated
    return block


def _single_observances(
    timezone: Timezone, zone: ZoneInfo
) -> list[TimezoneStandard | TimezoneDaylight]:
    """One observance per onset (:func:`onset`), in the order of their onsets."""
    observances: list[TimezoneStandard | TimezoneDaylight] = []
    for grouped in timezone.subcomponents:
        assert isinstance(grouped, TimezoneStandard | TimezoneDaylight)
        for onset in (grouped.DTSTART, *(start for start, _ in grouped.rdates)):
            single = type(grouped)()
            single.DTSTART = rfc_onset(onset, grouped.TZOFFSETFROM, grouped.TZOFFSETTO, zone)
            single.add("TZNAME", grouped["TZNAME"])
            single.TZOFFSETFROM = grouped.TZOFFSETFROM
            single.TZOFFSETTO = grouped.TZOFFSETTO
            observances.append(single)
    observances.sort(key=lambda observance: observance.DTSTART)
    return observances


def rfc_onset(
    onset: datetime, offset_from: timedelta, offset_to: timedelta, zone: ZoneInfo
) -> datetime:
    """An observance's onset as RFC 5545 §3.6.5 writes it: the local time of
    the change in the offset in force *before* it (``TZOFFSETFROM``), so that
    onset minus ``TZOFFSETFROM`` is the instant of the change (New York's
    daylight saving time begins at 02:00, London's at 01:00).

    icalendar writes a change to a larger offset at the local time after it
    (03:00 and 02:00): that onset is mended here, once the zone confirms
    which instant the change happens at. An onset that is no change (the
    first observance of a range) is left as it is.
    """
    for offset in (offset_from, offset_to):
        instant = (onset - offset).replace(tzinfo=UTC)
        before = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset()
        if before == offset_from and instant.astimezone(zone).utcoffset() == offset_to:
            return (instant + offset_from).replace(tzinfo=None)
    return onset
