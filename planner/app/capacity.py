"""Site capacity and conflicts: what a coordinator must fix by hand."""

from __future__ import annotations

from datetime import date, timedelta

from planner.app.context import Context
from planner.app.queries import check_kind
from planner.app.results import CapacityProblem
from planner.core.errors import out_of_range
from planner.core.visits import VisitRecord
from planner.store.repository import records, sites, visits

MAX_PER_DAY = 10_000
MAX_DAYS = 3660


def set_cap(ctx: Context, code: str, kind: str, per_day: int) -> None:
    """Cap events of a kind per day at a site (0 removes the cap)."""
    if not 0 <= per_day <= MAX_PER_DAY:
        raise out_of_range("per_day", per_day, 0, MAX_PER_DAY, "the cap per day")
    with ctx.db.write() as session, session.begin():
        ctx.lock(session, sites=[code], calendar=True)
        site_id = ctx.site_id(session, code)
        check_kind(ctx, session, kind)
        replaced = sites.set_capacity(session, site_id, kind, per_day)
        ctx.audit(
            session,
            "site-capacity",
            before={"per_day": replaced} if replaced is not None else None,
            after={"site": code, "kind": kind, "per_day": per_day},
        )


def caps(ctx: Context, code: str) -> dict[str, int]:
    with ctx.db.read() as session:
        rows = sites.capacities(session, ctx.site_id(session, code))
    return {kind: per_day for _, kind, per_day in rows}


def conflicts(ctx: Context, site: str | None) -> list[tuple[VisitRecord, str]]:
    """Scheduled visits on a closed day because their window had no open day."""
    found: list[tuple[VisitRecord, str]] = []
    with ctx.db.read() as session:
        ids = [ctx.site_id(session, site)] if site else [i for i, _ in sites.zones(session)]
        for site_id in ids:
            calendar = sites.calendar(session, site_id)
            if calendar.always_open:
                continue
            for record in records.scheduled(session, ctx.db.protocols, site_id):
                reason = calendar.closed_reason(record.target)
                if reason and calendar.is_conflict(record.target, record.setting):
                    found.append((record, reason))
    return found


def report(ctx: Context, start: date | None, days: int, site: str | None) -> list[CapacityProblem]:
    """Days on which scheduled events of a kind exceed a site's cap, from
    ``start`` or, by default, today at each site."""
    if not 1 <= days <= MAX_DAYS:
        raise out_of_range("days", days, 1, MAX_DAYS, "the number of days")
    problems: list[CapacityProblem] = []
    with ctx.db.read() as session:
        site_id = ctx.site_id(session, site) if site is not None else None
        for sid, kind, per_day in sites.capacities(session, site_id):
            row = sites.by_id(session, sid)
            code, first = row.code, start or ctx.today(row.timezone)
            end = first + timedelta(days=days - 1)
            for day, count in visits.over_capacity(session, sid, kind, per_day, first, end):
                found = records.scheduled(session, ctx.db.protocols, sid, kind, day)
                ids = tuple(r.visit_id for r in found)
                problems.append(CapacityProblem(code, day, kind, per_day, count, ids))
    return sorted(problems, key=lambda p: (p.day, p.site, p.kind))
