"""Sites: time zones, calendars (closed days, holidays, closing dates)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from planner.app.context import Context, unknown_site
from planner.app.results import Outcome, SiteInfo
from planner.core.dates import check_zone
from planner.core.errors import Conflict, InputError
from planner.core.protocol import CODE_PATTERN
from planner.core.sitedays import (
    SiteCalendar,
    check_holidays,
    format_weekdays,
    parse_weekdays,
)
from planner.store.models import Site
from planner.store.repository import participants, sites

MAX_NAME = 200
MAX_REASON = 200


def check_code(code: str, field: str, what: str) -> str:
    if not re.fullmatch(CODE_PATTERN.strip("^$"), code):
        raise InputError(
            f"{what} {code!r} is not allowed: use 1 to 32 of A-Z a-z 0-9 _ - "
            "starting with a letter or digit",
            field=field,
            value=code,
            allowed="1 to 32 of A-Z a-z 0-9 _ -, starting with a letter or digit",
        )
    return code


def add(
    ctx: Context, code: str, timezone: str, name: str, closed: str, holidays: str | None
) -> SiteInfo:
    """Add a site; ``closed`` weekdays as ``sat,sun``, ``holidays`` as ``CN``."""
    check_code(code, "code", "site code")
    check_zone(timezone)
    weekdays = format_weekdays(parse_weekdays(closed))
    holidays = check_holidays(holidays) if holidays else None
    if len(name) > MAX_NAME:
        raise InputError(
            f"site name is longer than {MAX_NAME} characters", field="name", value=name
        )
    with ctx.db.write() as session, session.begin():
        if sites.site_id(session, code) is not None:
            raise Conflict(f"site {code!r} exists already", field="code", value=code)
        sites.add_site(
            session,
            Site(
                code=code,
                name=name,
                timezone=timezone,
                closed_weekdays=weekdays,
                holidays=holidays,
                created_at=ctx.now(),
            ),
        )
        after = {"site": code, "timezone": timezone, "closed": weekdays, "holidays": holidays}
        ctx.audit(session, "site-add", after=after)
    return SiteInfo(code, name, timezone, weekdays, holidays)


def list_sites(ctx: Context) -> list[SiteInfo]:
    with ctx.db.read() as session:
        return [
            SiteInfo(row.code, row.name, row.timezone, row.closed_weekdays, row.holidays)
            for row in sites.all_sites(session)
        ]


def one(ctx: Context, code: str) -> SiteInfo:
    for info in list_sites(ctx):
        if info.code == code:
            return info
    with ctx.db.read() as session:
        raise unknown_site(session, code)


def _check_closing(start: date, end: date, reason: str) -> None:
    if end < start:
        raise InputError(
            f"the last closed day {end} is before the first, {start}", field="end", value=end
        )
    if (end - start).days > 366:
        raise InputError("a closing period may last at most a year", field="end", value=end)
    if len(reason) > MAX_REASON:
        raise InputError(
            f"the reason is longer than {MAX_REASON} characters", field="reason", value=reason
        )


def close(
    ctx: Context,
    code: str,
    start: date,
    end: date | None,
    reason: str,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Close a site on a date or range; re-plan the visits it touches,
    reporting ``progress(done, total)`` participants when asked."""
    end = end or start
    _check_closing(start, end, reason)
    with ctx.db.write() as session, session.begin():
        site_id = ctx.site_id(session, code)
        sites.add_closure(session, site_id, start, end, reason, ctx.now())
        after = {"site": code, "start": start, "end": end}
        ctx.audit(session, "site-close", after=after, reason=reason or None)
        why = f"site {code} closed {start}" + (f" to {end}" if end != start else "")
        why += f": {reason}" if reason else ""
        changes = []
        touched = sites.participants_touching(session, site_id, start, end)
        for done, participant_id in enumerate(touched, 1):
            participant = participants.by_id(session, participant_id)
            changes += ctx.replan(session, participant, reason=why)
            if progress is not None and (done % 100 == 0 or done == len(touched)):
                progress(done, len(touched))
        return Outcome(changes=tuple(changes))


def calendar(ctx: Context, code: str) -> SiteCalendar:
    with ctx.db.read() as session:
        return sites.calendar(session, ctx.site_id(session, code))


def today_at(ctx: Context, code: str) -> date:
    """Today's date at a site, in its time zone."""
    return ctx.today(one(ctx, code).timezone)
