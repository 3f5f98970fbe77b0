"""Strict parsing of the dates and zones people type."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from functools import cache

from planner.errors import InputError

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
