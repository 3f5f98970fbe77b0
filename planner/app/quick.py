"""The short reading commands answered straight from an SQLite file.

``upcoming``, ``due`` and ``overdue`` on the command line are asked once
per process; importing SQLAlchemy and the protocol models took most of their
time (issue 18). For an ordinary question (a site or all sites, no protocol,
arm or kind filter) on an existing SQLite file at the current schema, these
functions answer through :class:`~planner.store.lite.LiteReader` (the
standard library's ``sqlite3``) with the same queries, records, days and
order as :class:`~planner.app.Planner` (:mod:`planner.app.judged`; a test
compares them). They answer None for everything else (a server URL, a missing
or old file, an unknown site, a damaged file): the caller then asks the
:class:`~planner.app.Planner`, which answers or explains.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from planner.app import judged
from planner.app.judged import VisitAsOf
from planner.core.errors import PlannerError
from planner.core.visits import VisitRecord
from planner.store.lite import LiteError, LiteReader, sqlite_file

T = TypeVar("T")
Clock = Callable[[], datetime]


def upcoming(
    db: str | None, start: date | None, days: int, site: str | None, clock: Clock = judged.utc_now
) -> list[VisitRecord] | None:
    """Scheduled visits whose target lies in ``days`` days from ``start``
    (default: today at each site); None: ask the application."""
    if not 1 <= days <= judged.MAX_DAYS:
        return None
    return _answer(db, site, start, clock, lambda r, at: judged.upcoming(at, days, r.upcoming))


def due(
    db: str | None, as_of: date | None, site: str | None, clock: Clock = judged.utc_now
) -> list[VisitAsOf] | None:
    """Scheduled visits whose window holds the day, soonest to close first."""
    return _answer(db, site, as_of, clock, lambda r, at: judged.judged(at, r.due_on))


def overdue(
    db: str | None, as_of: date | None, site: str | None, clock: Clock = judged.utc_now
) -> list[VisitAsOf] | None:
    """Scheduled visits whose window ended before the day, longest overdue first."""
    return _answer(db, site, as_of, clock, lambda r, at: judged.judged(at, r.overdue_on))


def _answer(
    db: str | None,
    site: str | None,
    given: date | None,
    clock: Clock,
    ask: Callable[[LiteReader, list[tuple[int, date]]], T],
) -> T | None:
    path = sqlite_file(db)
    if path is None:
        return None
    try:
        with LiteReader(path) as reader:
            if not reader.current():
                return None
            zones = reader.site_zones(site)
            if site is not None and not zones:
                return None  # the application names the sites there are
            now = clock()
            return ask(reader, judged.spans(zones, given, lambda zone: judged.today_in(now, zone)))
    except (LiteError, LookupError, ValueError, PlannerError):
        return None  # the application reads it again, and says what is wrong
