"""What the reading queries share, whichever path reads the database: the
day each site is asked about, and the order answers come in.

Imports nothing heavy: the command line's reading path
(:mod:`planner.app.quick`) and the application's (:mod:`planner.app.queries`)
both answer with these functions, so they answer alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from planner.core.dates import zone_info
from planner.core.visits import VisitRecord, visit_order

#: The longest span ``upcoming`` looks at, in days.
MAX_DAYS = 3660


def utc_now() -> datetime:
    """The system clock: now, UTC, naive (as stored), to the second."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def today_in(now: datetime, zone: str) -> date:
    """The date at ``now`` (naive UTC) in a time zone."""
    return now.replace(tzinfo=UTC).astimezone(zone_info(zone)).date()


@dataclass(frozen=True, slots=True)
class VisitAsOf:
    """A scheduled visit judged on a day (due or overdue), with that day."""

    visit: VisitRecord
    as_of: date

    def days_left(self) -> int:
        """Days from the day to the window's end (0: its last day)."""
        return (self.visit.window_end - self.as_of).days

    def days_overdue(self) -> int:
        """Days from the window's end to the day."""
        return (self.as_of - self.visit.window_end).days


def due_order(item: VisitAsOf) -> tuple[date, date, str, str, str, int]:
    """Who must be seen first: window end, then target, time, participant."""
    v = item.visit
    return (v.window_end, v.target, v.time or "", v.participant, v.event, v.occurrence)


def spans(
    zones: list[tuple[int, str]], given: date | None, today: Callable[[str], date]
) -> list[tuple[int, date]]:
    """Each site asked about, with the day to count from: ``given``, or today there."""
    return [(site_id, given if given is not None else today(zone)) for site_id, zone in zones]


def upcoming(
    at: list[tuple[int, date]],
    days: int,
    query: Callable[[int, date, date], list[VisitRecord]],
) -> list[VisitRecord]:
    """Scheduled visits whose target lies in ``days`` days from each site's
    day, in date order (each query answers in it; several sites are merged)."""
    found: list[VisitRecord] = []
    for site_id, first in at:
        found += query(site_id, first, first + timedelta(days=days))
    return sorted(found, key=visit_order) if len(at) > 1 else found


def judged(
    at: list[tuple[int, date]], query: Callable[[int, date], list[VisitRecord]]
) -> list[VisitAsOf]:
    """The visits ``query`` finds at each site on its day, in :func:`due_order`."""
    found = [VisitAsOf(record, day) for site_id, day in at for record in query(site_id, day)]
    return sorted(found, key=due_order)
