"""The site-calendar use cases of a :class:`~planner.app.Planner`, reached as
``planner.calendars``: closing dates, capacity, conflicts, today at a site.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from planner.app import capacity, sites
from planner.app.context import Context
from planner.app.results import CapacityProblem, Outcome
from planner.core.dates import check_date
from planner.core.sitedays import SiteCalendar
from planner.core.visits import VisitRecord


class Calendars:
    """When each site is open, how much it can take, and what does not fit."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def calendar(self, code: str) -> SiteCalendar:
        """A site's closed weekdays, holidays and closing dates."""
        return sites.calendar(self._ctx, code)

    def today_at(self, code: str) -> date:
        """Today's date at a site, in its time zone."""
        return sites.today_at(self._ctx, code)

    def close(
        self,
        code: str,
        start: date,
        end: date | None = None,
        reason: str = "",
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> Outcome:
        """Close a site on a date or range; re-plan the visits it touches
        (``progress(done, total)`` participants, when given)."""
        start, end = (
            check_date(start, "start date", field="start"),
            check_date(end, "end date", field="end"),
        )
        return sites.close(self._ctx, code, start, end, reason, progress)

    def set_capacity(self, code: str, kind: str, per_day: int) -> None:
        """Cap events of a kind per day at a site (0 removes the cap)."""
        capacity.set_cap(self._ctx, code, kind, per_day)

    def capacities(self, code: str) -> dict[str, int]:
        return capacity.caps(self._ctx, code)

    def conflicts(self, *, site: str | None = None) -> list[tuple[VisitRecord, str]]:
        """Scheduled visits on a closed day because their window had no open day."""
        return capacity.conflicts(self._ctx, site)

    def capacity_report(
        self, start: date | None, days: int, *, site: str | None = None
    ) -> list[CapacityProblem]:
        """Days on which scheduled events of a kind exceed a site's cap, from
        ``start`` (default: today at each site) for ``days`` days."""
        return capacity.report(
            self._ctx, check_date(start, "start date", field="start"), days, site
        )
