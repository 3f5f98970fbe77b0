"""Strict parsing of the dates and zones people type."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, timedelta
from functools import cache

from planner.core.errors import InputError

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


def parse_date(text: str, what: str = "date") -> date:
    """``YYYY-MM-DD`` and nothing else; a clear error names ``what``."""
    match = _ISO_DATE.match(text.strip())
    if not match:
        raise InputError(f"{what} {text!r} is not a date in the form YYYY-MM-DD")
    try:
        parsed = date(*(int(part) for part in match.groups()))
    except ValueError:
        raise InputError(f"{what} {text!r} is not a real calendar date") from None
    if not EARLIEST <= parsed <= LATEST:
        raise InputError(f"{what} {text!r} is outside {EARLIEST.year}-{LATEST.year}")
    return parsed


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_zone(name: str) -> str:
    """An IANA time zone name such as ``Asia/Shanghai``."""
    if name not in _zones():
        raise InputError(
            f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai or "
            "America/New_York"
        )
    return name


_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|h|d)$")
_ISO_DURATION = re.compile(r"^-?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """``15m``, ``2h``, ``1d`` or an ISO 8601 duration such as ``PT1H30M``."""
    cleaned = text.strip()
    simple = _DURATION.match(cleaned.lower())
    if simple:
        amount, unit = int(simple.group(1)), simple.group(2)
        value = {"m": timedelta(minutes=amount), "min": timedelta(minutes=amount),
                 "h": timedelta(hours=amount), "d": timedelta(days=amount)}[unit]  # fmt: skip
    else:
        iso = _ISO_DURATION.match(cleaned.upper())
        if not iso or cleaned.upper() in ("P", "PT", "-P", "-PT") or cleaned.startswith("-"):
            raise InputError(f"{what} {text!r} is not a duration such as 15m, 2h, 1d or PT1H")
        days, hours, minutes = (int(part or 0) for part in iso.groups())
        value = timedelta(days=days, hours=hours, minutes=minutes)
    if not timedelta(0) < value <= timedelta(days=28):
        raise InputError(f"{what} {text!r} must be more than zero and at most 28 days")
    return value
