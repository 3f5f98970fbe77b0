"""Sites: time zones, calendars (closed days, holidays, closing dates)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from planner.app.apply import replan_participants
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
from planner.core.texts import refused_character
from planner.store.models import Site
from planner.store.repository import sites

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
    if (found := refused_character(name, allowed="")) is not None:
        why = f"the site name holds {found}; remove it"
        raise InputError(why, field="name")
    with ctx.db.write() as session, session.begin():
        taken = Conflict(f"site {code!r} exists already", field="code", value=code)
        if sites.site_id(session, code) is not None:
            raise taken
        alike = [c for c in sites.site_codes(session) if c.casefold() == code.casefold()]
        if alike:
            raise Conflict(
                f"site {code!r} differs from site {alike[0]!r} only in letter case: "
                "one site, or two sites people would confuse; choose another code",
                field="code",
                value=code,
            )
        row = Site(
            code=code,
            name=name,
            timezone=timezone,
            closed_weekdays=weekdays,
            holidays=holidays,
            created_at=ctx.now(),
        )
        try:
            sites.add_site(session, row)
        except sites.SiteTaken:
            raise taken from None
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
        ctx.lock(session, sites=[code], calendar=True)
        site_id = ctx.site_id(session, code)
        sites.add_closure(session, site_id, start, end, reason, ctx.now())
        after = {"site": code, "start": start, "end": end}
        ctx.audit(session, "site-close", after=after, reason=reason or None)
        why = f"site {code} closed {start}" + (f" to {end}" if end != start else "")
        why += f": {reason}" if reason else ""
        touched = sites.participants_touching(session, site_id, start, end)
        # Planned per participant, written in bulk (planner.app.apply).
        changes = replan_participants(ctx, session, touched, reason=why, progress=progress)
        return Outcome(changes=tuple(changes))


def calendar(ctx: Context, code: str) -> SiteCalendar:
    with ctx.db.read() as session:
        return sites.calendar(session, ctx.site_id(session, code))


def today_at(ctx: Context, code: str) -> date:
    """Today's date at a site, in its time zone."""
    return ctx.today(one(ctx, code).timezone)
