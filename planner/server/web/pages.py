"""The pages that only read: Today (``/``), Upcoming and the participant list.

Each page asks its :class:`~planner.app.site_view.SiteView` in one worker
thread, so the database work never holds up the event loop.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from planner.app.participants import PARTICIPATION_STATUSES
from planner.app.site_view import SiteView
from planner.core.errors import InputError
from planner.core.visits import VisitRecord
from planner.server import params
from planner.server.web.auth import Visitor
from planner.server.web.handlers import logged_in
from planner.server.web.templates import page

#: Today shows the visits that fell outside their window in this many days.
RECENT_DEVIATION_DAYS = 30
UPCOMING_DAYS = (7, 14)


@dataclass(frozen=True, slots=True)
class SiteCounts:
    code: str
    name: str
    today: date
    due: int
    overdue: int
    outside: int


def _today(view: SiteView) -> dict[str, Any]:
    sites = view.sites()
    todays = {s.code: view.planner.today(s.timezone) for s in sites}
    due, overdue = view.due(), view.overdue()
    outside = [
        r
        for r in view.out_of_window()
        if (r.actual or r.target) >= todays[r.site] - timedelta(days=RECENT_DEVIATION_DAYS)
    ]
    per = {
        name: Counter(item.site for item in found)
        for name, found in (
            ("due", [d.visit for d in due]),
            ("overdue", [d.visit for d in overdue]),
            ("outside", outside),
        )
    }
    counts = [
        SiteCounts(
            s.code,
            s.name,
            todays[s.code],
            per["due"][s.code],
            per["overdue"][s.code],
            per["outside"][s.code],
        )
        for s in sites
    ]
    return {
        "counts": counts,
        "due": due,
        "overdue": overdue,
        "outside": outside,
        "recent_days": RECENT_DEVIATION_DAYS,
    }


@logged_in
async def today(request: Request, visitor: Visitor) -> Response:
    data = await run_in_threadpool(_today, visitor.view(request))
    return page(request, "today.html", visitor=visitor, title="Today", **data)


def _filters(view: SiteView) -> dict[str, Any]:
    return {"sites": view.sites(), "protocols": view.protocols(), "kinds": view.kinds()}


def _days(given: str | None) -> int:
    """How many days Upcoming shows: one it offers, never another one silently."""
    if given is None:
        return UPCOMING_DAYS[0]
    offered = {str(days): days for days in UPCOMING_DAYS}
    if given not in offered:
        choices = " or ".join(offered)
        raise InputError(
            f"days must be {choices}, not {given!r}", field="days", value=given, allowed=choices
        )
    return offered[given]


def _upcoming(view: SiteView, query: dict[str, str]) -> dict[str, Any]:
    days = _days(query.get("days"))
    site, protocol, kind = (params.text(query, n) for n in ("site", "protocol", "kind"))
    found = view.upcoming(None, days, site=site, protocol=protocol, kind=kind)
    shown = [s for s in view.sites() if site is None or s.code == site]
    first = min((view.planner.today(s.timezone) for s in shown), default=None)
    by_day: dict[date, list[VisitRecord]] = {}
    for record in found:
        by_day.setdefault(record.target, []).append(record)
    if first is not None:
        span = [first + timedelta(days=n) for n in range(days)]
        grid = [(day, by_day.get(day, [])) for day in sorted({*span, *by_day})]
    else:
        grid = []
    chosen = {"site": site, "protocol": protocol, "kind": kind, "days": days}
    return {"grid": grid, "count": len(found), "chosen": chosen, **_filters(view)}


@logged_in
async def upcoming(request: Request, visitor: Visitor) -> Response:
    query = dict(request.query_params)
    data = await run_in_threadpool(_upcoming, visitor.view(request), query)
    return page(
        request, "upcoming.html", visitor=visitor, title="Upcoming", choices=UPCOMING_DAYS, **data
    )


def _participants(view: SiteView, query: dict[str, str]) -> dict[str, Any]:
    site, status = params.text(query, "site"), params.text(query, "status")
    found = view.participants(site=site, status=status)
    return {
        "participants": found,
        "sites": view.sites(),
        "statuses": PARTICIPATION_STATUSES,
        "chosen": {"site": site, "status": status},
    }


@logged_in
async def participants(request: Request, visitor: Visitor) -> Response:
    query = dict(request.query_params)
    data = await run_in_threadpool(_participants, visitor.view(request), query)
    return page(request, "participants.html", visitor=visitor, title="Participants", **data)
