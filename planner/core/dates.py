"""Strict parsing of the dates, durations and time zones people type.

Each parser accepts one spelling (``YYYY-MM-DD``, ``15m``/``2h``/``1d`` or an
ISO 8601 duration, the IANA name of a place's zone) and raises an
:class:`~planner.core.errors.InputError` that names what was wrong, in words
and as data (``field``, ``value``, ``allowed``).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, timedelta
from functools import cache
from typing import TypeVar

from planner.core.errors import InputError, PlannerError

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")  # ASCII digits only
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


def parse_date(text: str, what: str = "date", *, field: str | None = None) -> date:
    """``YYYY-MM-DD`` and nothing else; a clear error names ``what``.

    The error's ``field`` is ``field``, else ``what`` when it is a name such
    as ``day1``.
    """
    field = _field(what, field)
    match = _ISO_DATE.fullmatch(text.strip())
    if not match:
        raise InputError(
            f"{what} {text!r} is not a date in the form YYYY-MM-DD",
            field=field,
            value=text,
            allowed="YYYY-MM-DD",
        )
    try:
        parsed = date(*(int(part) for part in match.groups()))
    except ValueError:
        raise InputError(
            f"{what} {text!r} is not a real calendar date", field=field, value=text
        ) from None
    if not EARLIEST <= parsed <= LATEST:
        raise InputError(
            f"{what} {text!r} is outside {EARLIEST.year}-{LATEST.year}",
            field=field,
            value=text,
            allowed=f"{EARLIEST.isoformat()}..{LATEST.isoformat()}",
        )
    return parsed


#: A date, or None where a default applies.
Day = TypeVar("Day", bound=date | None)


def check_date(day: Day, what: str = "date", *, field: str | None = None) -> Day:
    """``day`` if it lies in the years :func:`parse_date` accepts: the same rule
    for dates given to the Python API as for dates typed on a command line."""
    if day is not None and not EARLIEST <= day <= LATEST:
        raise InputError(
            f"{what} {day.isoformat()} is outside {EARLIEST.year}-{LATEST.year}",
            field=_field(what, field),
            value=day.isoformat(),
            allowed=f"{EARLIEST.isoformat()}..{LATEST.isoformat()}",
        )
    return day


def _field(what: str, field: str | None) -> str | None:
    """The error field: ``field`` if given, else ``what`` if it is an identifier."""
    if field is not None:
        return field
    return what if what.isidentifier() else None


#: Files of the time zone database that name no place: the computer's own
#: setting (which differs from one computer to the next) and placeholders.
NOT_PLACES = {
    "localtime": "this computer's own setting, which differs from one computer to the next",
    "Factory": "a placeholder for computers whose zone is not set",
    "posixrules": "a default rule of the time zone database",
}


@cache
def _zones() -> frozenset[str]:
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in NOT_PLACES and not name.startswith(("posix/", "right/"))
    )


def check_zone(name: str, *, field: str = "timezone") -> str:
    """An IANA time zone name of a place, such as ``Asia/Shanghai``."""
    if name in NOT_PLACES:
        raise InputError(
            f"time zone {name!r} is {NOT_PLACES[name]}, not a place's zone; use an IANA "
            "name such as Asia/Shanghai or America/New_York",
            field=field,
            value=name,
            allowed="an IANA time zone name",
        )
    if name not in _zones():
        raise InputError(
            f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai or "
            "America/New_York",
            field=field,
            value=name,
            allowed="an IANA time zone name",
        )
    return name


_DURATION = re.compile(r"([0-9]{1,9})\s*(m|min|h|d)")  # too long: "at most 28 days"
_ISO_DURATION = re.compile(r"-?P(?:([0-9]{1,9})D)?(?:T(?:([0-9]{1,9})H)?(?:([0-9]{1,9})M)?)?")


def parse_duration(text: str, what: str = "duration", *, field: str | None = None) -> timedelta:
    """``15m``, ``2h``, ``1d`` or an ISO 8601 duration such as ``PT1H30M``.

    The error's ``field`` is ``field``, else ``what`` when it is a name such
    as ``alarm``.
    """
    field = _field(what, field)
    cleaned = text.strip()
    simple = _DURATION.fullmatch(cleaned.lower())
    if simple:
        amount, unit = int(simple.group(1)), simple.group(2)
        value = {"m": timedelta(minutes=amount), "min": timedelta(minutes=amount),
                 "h": timedelta(hours=amount), "d": timedelta(days=amount)}[unit]  # fmt: skip
    else:
        iso = _ISO_DURATION.fullmatch(cleaned.upper())
        if not iso or cleaned.upper() in ("P", "PT", "-P", "-PT") or cleaned.startswith("-"):
            raise InputError(
                f"{what} {text!r} is not a duration such as 15m, 2h, 1d or PT1H",
                field=field,
                value=text,
                allowed="15m, 2h, 1d or an ISO 8601 duration such as PT1H",
            )
        days, hours, minutes = (int(part or 0) for part in iso.groups())
        value = timedelta(days=min(days + hours // 24 + minutes // 1440, 29))  # over 28: refused
        if value.days < 29:
            value = timedelta(days=days, hours=hours, minutes=minutes)
    if not timedelta(0) < value <= timedelta(days=28):
        raise InputError(
            f"{what} {text!r} must be more than zero and at most 28 days",
            field=field,
            value=text,
            allowed="more than zero, at most 28 days",
        )
    return value


def zone_info(name: str) -> zoneinfo.ZoneInfo:
    """A stored zone, or a PlannerError if this computer's time zone data
    lacks it (a site added where the data was newer)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise PlannerError(
            f"the time zone {name!r} is not in this computer's time zone data; "
            "it may need newer time zone data (the tzdata package)",
            field="timezone",
            value=name,
        ) from None


#: Day 1 of a participant lies in these years: enough for records of past
#: trials and for planning, not so far that visits land in centuries to come.
DAY1_EARLIEST = date(1950, 1, 1)
DAY1_LATEST = date(2100, 12, 31)


def check_day1(day: date, field: str = "day1") -> date:
    """A participant's day 1, within DAY1_EARLIEST..DAY1_LATEST."""
    if not DAY1_EARLIEST <= day <= DAY1_LATEST:
        raise InputError(
            f"day 1 {day.isoformat()} is outside {DAY1_EARLIEST.isoformat()} to "
            f"{DAY1_LATEST.isoformat()}, the dates a participant's day 1 may have",
            field=field,
            value=day.isoformat(),
            allowed=f"{DAY1_EARLIEST.isoformat()}..{DAY1_LATEST.isoformat()}",
        )
    return day
