"""Sites: time zones, calendars (closed days, holidays, closing dates), capacity."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from planner.app.base import (
    CapacityProblem,
    Service,
    SiteInfo,
)
from planner.core.dates import check_zone
from planner.core.errors import InputError, NotFound
from planner.core.protocol import CODE_PATTERN
from planner.core.sitedays import (
    Closure,
    SiteCalendar,
    check_holidays,
    format_weekdays,
    parse_weekdays,
)
from planner.core.visits import VisitRecord
from planner.store.models import (
    Participant,
    Site,
    SiteCapacity,
    SiteClosure,
    Visit,
)
from planner.store.records import (
    to_records,
    visit_select,
)


class SitesPart(Service):
    """Sites and their calendars; closing dates re-plan what they touch."""

    def add_site(
        self,
        code: str,
        timezone: str,
        name: str = "",
        *,
        closed: str = "",
        holidays: str | None = None,
    ) -> SiteInfo:
        """Add a site; ``closed`` weekdays as ``sat,sun``, ``holidays`` as ``CN``."""
        _check_code(code, "site code")
        check_zone(timezone)
        weekdays = format_weekdays(parse_weekdays(closed))
        holidays = check_holidays(holidays) if holidays else None
        if len(name) > 200:
            raise InputError("site name is longer than 200 characters")
        with self._write() as session, session.begin():
            if session.scalar(select(Site.id).where(Site.code == code)) is not None:
                raise InputError(f"site {code!r} exists already")
            session.add(
                Site(
                    code=code,
                    name=name,
                    timezone=timezone,
                    closed_weekdays=weekdays,
                    holidays=holidays,
                    created_at=self.now(),
                )
            )
            self._audit(
                session,
                "site-add",
                after={
                    "site": code,
                    "timezone": timezone,
                    "closed": weekdays,
                    "holidays": holidays,
                },
            )
        return SiteInfo(code, name, timezone, weekdays, holidays)

    def sites(self) -> list[SiteInfo]:
        with self._read() as session:
            rows = session.scalars(select(Site).order_by(Site.code)).all()
            return [
                SiteInfo(row.code, row.name, row.timezone, row.closed_weekdays, row.holidays)
                for row in rows
            ]

    def site(self, code: str) -> SiteInfo:
        for info in self.sites():
            if info.code == code:
                return info
        raise NotFound(f"unknown site {code!r} ({self._site_choices()})")

    def close_site(self, code: str, start: date, end: date | None = None, reason: str = "") -> int:
        """Close a site on a date or range; re-plan the visits it touches.

        Returns how many visits were re-planned.
        """
        end = end or start
        if end < start:
            raise InputError(f"--to {end} is before the closing date {start}")
        if (end - start).days > 366:
            raise InputError("a closing period may last at most a year")
        if len(reason) > 200:
            raise InputError("the reason is longer than 200 characters")
        with self._write() as session, session.begin():
            site_id = self._site_id(session, code)
            session.add(
                SiteClosure(
                    site_id=site_id, start=start, end=end, reason=reason, created_at=self.now()
                )
            )
            session.info.pop("calendars", None)
            self._audit(
                session,
                "site-close",
                after={"site": code, "start": start, "end": end},
                reason=reason or None,
            )
            session.flush()
            participant_ids = session.scalars(
                select(Visit.participant_id)
                .where(
                    Visit.site_id == site_id,
                    Visit.status == "scheduled",
                    Visit.window_start <= end,
                    Visit.window_end >= start,
                )
                .distinct()
            ).all()
            why = f"site {code} closed {start}" + (f" to {end}" if end != start else "")
            why += f": {reason}" if reason else ""
            changed = 0
            for participant_id in participant_ids:
                participant = session.get_one(Participant, participant_id)
                changed += self._replan(session, participant, reason=why)
            return changed

    def set_capacity(self, code: str, kind: str, per_day: int) -> None:
        """Cap events of a kind per day at a site (0 removes the cap)."""
        if not 0 <= per_day <= 10_000:
            raise InputError(f"--per-day {per_day} must be between 0 and 10000")
        with self._write() as session, session.begin():
            site_id = self._site_id(session, code)
            existing = session.scalar(
                select(SiteCapacity).where(
                    SiteCapacity.site_id == site_id, SiteCapacity.kind == kind
                )
            )
            before = {"per_day": existing.per_day} if existing else None
            if existing is not None:
                session.delete(existing)
                session.flush()
            if per_day:
                session.add(SiteCapacity(site_id=site_id, kind=kind, per_day=per_day))
            self._audit(
                session,
                "site-capacity",
                before=before,
                after={"site": code, "kind": kind, "per_day": per_day},
            )

    def site_calendar(self, code: str) -> SiteCalendar:
        with self._read() as session:
            return self._calendar(session, self._site_id(session, code))

    def capacities(self, code: str) -> dict[str, int]:
        with self._read() as session:
            site_id = self._site_id(session, code)
            rows = session.execute(
                select(SiteCapacity.kind, SiteCapacity.per_day).where(
                    SiteCapacity.site_id == site_id
                )
            )
            return {kind: per_day for kind, per_day in rows}

    def closures(self, code: str) -> list[Closure]:
        with self._read() as session:
            return list(self._calendar(session, self._site_id(session, code)).closures)

    def conflicts(self, *, site: str | None = None) -> list[tuple[VisitRecord, str]]:
        """Scheduled visits on a closed day because their window had no open day."""
        found: list[tuple[VisitRecord, str]] = []
        with self._read() as session:
            query = select(Site.id).order_by(Site.code)
            if site is not None:
                query = query.where(Site.id == self._site_id(session, site))
            for site_id in session.scalars(query).all():
                calendar = self._calendar(session, site_id)
                if calendar.always_open:
                    continue
                rows = session.execute(
                    visit_select().where(Visit.site_id == site_id, Visit.status == "scheduled")
                )
                for record in to_records(session.connection(), iter(rows), self._protocols):
                    reason = calendar.closed_reason(record.target)
                    if reason and calendar.is_conflict(record.target, record.setting):
                        found.append((record, reason))
        return found

    def capacity_report(
        self, start: date, days: int, *, site: str | None = None
    ) -> list[CapacityProblem]:
        """Days on which scheduled events of a kind exceed a site's cap."""
        if not 1 <= days <= 3660:
            raise InputError(f"--days {days} must be between 1 and 3660")
        end = start + timedelta(days=days - 1)
        problems: list[CapacityProblem] = []
        with self._read() as session:
            caps = select(SiteCapacity.site_id, SiteCapacity.kind, SiteCapacity.per_day)
            if site is not None:
                caps = caps.where(SiteCapacity.site_id == self._site_id(session, site))
            for site_id, kind, per_day in session.execute(caps).all():
                over = session.execute(
                    select(Visit.target, func.count())
                    .where(
                        Visit.site_id == site_id,
                        Visit.kind == kind,
                        Visit.status == "scheduled",
                        Visit.target >= start,
                        Visit.target <= end,
                    )
                    .group_by(Visit.target)
                    .having(func.count() > per_day)
                ).all()
                code = session.get_one(Site, site_id).code
                for day, count in over:
                    rows = session.execute(
                        visit_select().where(
                            Visit.site_id == site_id,
                            Visit.kind == kind,
                            Visit.status == "scheduled",
                            Visit.target == day,
                        )
                    )
                    found = to_records(session.connection(), iter(rows), self._protocols)
                    ids = tuple(r.visit_id for r in found)
                    problems.append(CapacityProblem(code, day, kind, per_day, count, ids))
        return sorted(problems, key=lambda p: (p.day, p.site, p.kind))


def _check_code(code: str, what: str) -> None:
    if not re.fullmatch(CODE_PATTERN.strip("^$"), code):
        raise InputError(
            f"{what} {code!r} is not allowed: use 1 to 32 of A-Z a-z 0-9 _ - "
            "starting with a letter or digit"
        )
