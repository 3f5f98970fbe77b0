"""Site calendars: closed weekdays, public holidays and closing dates.

A :class:`SiteCalendar` is a pure value; :meth:`SiteCalendar.place` is the
``place`` function of :func:`planner.core.schedule.expand`. A visit whose ideal date
is a closed day moves to the nearest open day inside its window (the earlier
one on a tie); if the window has none it stays, and is a conflict. In-hospital
(``inpatient``) events are never moved: the ward works every day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from planner.core.errors import InputError
from planner.core.schedule import Occurrence

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_weekdays(text: str) -> frozenset[int]:
    """``sat,sun`` as {5, 6} (Monday is 0)."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        if part[:3] not in WEEKDAYS or part not in (part[:3], _long_name(part[:3])):
            raise InputError(
                f"closed day {part!r} is not a weekday (use mon, tue, wed, thu, fri, sat, sun)",
                field="closed",
                value=part,
                choices=WEEKDAYS,
            )
        days.add(WEEKDAYS.index(part[:3]))
    if len(days) == 7:
        raise InputError(
            "a site cannot be closed on every day of the week", field="closed", value=text
        )
    return frozenset(days)


def _long_name(short: str) -> str:
    return {
        "mon": "monday",
        "tue": "tuesday",
        "wed": "wednesday",
        "thu": "thursday",
        "fri": "friday",
        "sat": "saturday",
        "sun": "sunday",
    }[short]


def format_weekdays(days: Iterable[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def check_holidays(spec: str) -> str:
    """``CN`` or ``US-NY``: a country, optionally with a subdivision."""
    country, _, subdivision = spec.partition("-")
    try:
        _holiday_table(country.upper(), subdivision.upper() or None, 2026)
    except NotImplementedError:
        raise InputError(
            f"unknown public holidays {spec!r}: use a country code such as CN or US, "
            "optionally with a subdivision such as US-NY",
            field="holidays",
            value=spec,
            allowed="a country code, optionally with a subdivision (CN, US-NY)",
        ) from None
    return f"{country.upper()}-{subdivision.upper()}" if subdivision else country.upper()


def _holiday_table(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    import holidays  # imported here: it is large, and only site calendars need it

    table: Mapping[date, str] = holidays.country_holidays(
        country, subdiv=subdivision, years=year, language="en_US"
    )
    return table


@dataclass(frozen=True)
class Closure:
    start: date
    end: date
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class SiteCalendar:
    closed_weekdays: frozenset[int] = frozenset()
    #: ``CN``, ``US-NY`` or None
    holidays: str | None = None
    #: In the order they were recorded: the latest covering a day says why it is closed.
    closures: tuple[Closure, ...] = ()
    _years: dict[int, Mapping[date, str]] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _holiday_key(self) -> tuple[str, str | None] | None:
        if not self.holidays:
            return None
        country, _, subdivision = self.holidays.partition("-")
        return country, subdivision or None

    @property
    def always_open(self) -> bool:
        return not self.closed_weekdays and not self.holidays and not self.closures

    def closed_reason(self, day: date) -> str | None:
        """Why the site is closed on a day, or None when it is open."""
        if day.weekday() in self.closed_weekdays:
            return f"closed on {_long_name(WEEKDAYS[day.weekday()]).capitalize()}s"
        for closure in reversed(self.closures):  # the latest closing says why
            if closure.covers(day):
                return closure.reason or "closed"
        key = self._holiday_key
        if key is not None:
            table = self._years.get(day.year)
            if table is None:
                table = self._years[day.year] = _holiday_table(key[0], key[1], day.year)
            name = table.get(day)
            if name:
                return f"public holiday: {name}"
        return None

    def is_open(self, day: date) -> bool:
        return self.closed_reason(day) is None

    def nearest_open(self, ideal: date, first: date, last: date) -> date | None:
        """The open day in [first, last] nearest ``ideal``, the earlier on a tie."""
        if first <= ideal <= last and self.is_open(ideal):
            return ideal
        reach = max((ideal - first).days, (last - ideal).days)
        for distance in range(1, reach + 1):
            for candidate in (ideal - timedelta(days=distance), ideal + timedelta(days=distance)):
                if first <= candidate <= last and self.is_open(candidate):
                    return candidate
        return None

    def movable(self, occurrence: Occurrence) -> bool:
        return occurrence.setting != "inpatient"

    def place(self, occurrence: Occurrence, earliest: date | None = None) -> date | None:
        """The planned date of an occurrence at this site (for ``expand``).

        The open day in its window (from ``earliest`` on, when given) nearest
        its ideal date; the ideal date itself for visits that do not move
        (inpatient) or sites that never close; None when no day qualifies.
        """
        if self.always_open or not self.movable(occurrence):
            return occurrence.ideal
        first = (
            occurrence.window_start if earliest is None else max(occurrence.window_start, earliest)
        )
        if first > occurrence.window_end:
            return None
        return self.nearest_open(occurrence.ideal, first, occurrence.window_end)

    def is_conflict(self, target: date, setting: str) -> bool:
        """A visit that sits on a closed day because its window had no open day."""
        return setting != "inpatient" and not self.is_open(target)


def calendar_from_row(row: Any, closures: Iterable[Closure]) -> SiteCalendar:
    """A site's calendar from its stored settings."""
    weekdays = frozenset(WEEKDAYS.index(d) for d in (row.closed_weekdays or "").split(",") if d)
    return SiteCalendar(weekdays, row.holidays or None, tuple(closures))
