"""Sites, their closing dates and their capacities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planner.core.sitedays import Closure, SiteCalendar, calendar_from_row
from planner.store.models import Site, SiteCapacity, SiteClosure, Visit


def site_id(session: Session, code: str) -> int | None:
    return session.scalar(select(Site.id).where(Site.code == code))


def site_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Site.code).order_by(Site.code)))


def all_sites(session: Session) -> Sequence[Site]:
    return session.scalars(select(Site).order_by(Site.code)).all()


def by_id(session: Session, site_id: int) -> Site:
    return session.get_one(Site, site_id)


def zones(session: Session, code: str | None = None) -> list[tuple[int, str]]:
    """``(site id, time zone)`` of every site, or of one, by code."""
    query = select(Site.id, Site.timezone).order_by(Site.code)
    if code is not None:
        query = query.where(Site.code == code)
    return [(row_id, zone) for row_id, zone in session.execute(query)]


class SiteTaken(Exception):
    """A site code was added by someone else meanwhile."""


def add_site(session: Session, site: Site) -> None:
    """Add a site; :class:`SiteTaken` when another transaction added its code
    meanwhile (on a server, where two additions run side by side)."""
    session.add(site)
    try:
        session.flush()
    except IntegrityError:
        raise SiteTaken from None


def add_closure(
    session: Session, site_id: int, start: date, end: date, reason: str, now: datetime
) -> None:
    session.add(SiteClosure(site_id=site_id, start=start, end=end, reason=reason, created_at=now))
    session.info.pop("calendars", None)
    session.flush()


def calendar(session: Session, site_id: int) -> SiteCalendar:
    """A site's calendar, read once per transaction."""
    cache: dict[int, SiteCalendar] = session.info.setdefault("calendars", {})
    if site_id not in cache:
        closures = [
            Closure(row.start, row.end, row.reason)
            for row in session.scalars(
                select(SiteClosure)
                .where(SiteClosure.site_id == site_id)
                .order_by(SiteClosure.id)  # as recorded: the latest closing says why
            )
        ]
        cache[site_id] = calendar_from_row(by_id(session, site_id), closures)
    return cache[site_id]


def participants_touching(session: Session, site_id: int, start: date, end: date) -> list[int]:
    """Participants with a scheduled visit whose window meets a date range."""
    return list(
        session.scalars(
            select(Visit.participant_id)
            .where(
                Visit.site_id == site_id,
                Visit.status == "scheduled",
                Visit.window_start <= end,
                Visit.window_end >= start,
            )
            .distinct()
        )
    )


def capacities(session: Session, site_id: int | None = None) -> list[tuple[int, str, int]]:
    """``(site id, kind, per day)`` of every cap, or of one site's."""
    query = select(SiteCapacity.site_id, SiteCapacity.kind, SiteCapacity.per_day)
    if site_id is not None:
        query = query.where(SiteCapacity.site_id == site_id)
    return [(sid, kind, per_day) for sid, kind, per_day in session.execute(query)]


def set_capacity(session: Session, site_id: int, kind: str, per_day: int) -> int | None:
    """Replace a cap (0 removes it); return the cap it replaced."""
    existing = session.scalar(
        select(SiteCapacity).where(SiteCapacity.site_id == site_id, SiteCapacity.kind == kind)
    )
    before = existing.per_day if existing else None
    if existing is not None:
        session.delete(existing)
        session.flush()
    if per_day:
        session.add(SiteCapacity(site_id=site_id, kind=kind, per_day=per_day))
    return before


def stored_values(
    session: Session,
) -> tuple[
    dict[str, dict[str, str | None]], list[tuple[str, str, str, str]], dict[tuple[str, str], int]
]:
    """What the audit trail vouches for of every site: its settings by code,
    its closings (code, first day, last day, reason), its caps by (code, kind)."""
    settings = {
        code: {"timezone": zone, "closed": closed, "holidays": holidays}
        for code, zone, closed, holidays in session.execute(
            select(Site.code, Site.timezone, Site.closed_weekdays, Site.holidays)
        )
    }
    closings = [
        (code, start.isoformat(), end.isoformat(), reason or "")
        for code, start, end, reason in session.execute(
            select(Site.code, SiteClosure.start, SiteClosure.end, SiteClosure.reason).join(
                Site, Site.id == SiteClosure.site_id
            )
        )
    ]
    caps = {
        (code, kind): per_day
        for code, kind, per_day in session.execute(
            select(Site.code, SiteCapacity.kind, SiteCapacity.per_day).join(
                Site, Site.id == SiteCapacity.site_id
            )
        )
    }
    return settings, closings, caps
