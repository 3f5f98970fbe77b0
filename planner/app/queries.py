"""What coordinators ask: schedules, what is due, what is overdue, the audit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING

from planner.app import judged
from planner.app.context import Context, unknown_participant, unknown_site
from planner.app.judged import VisitAsOf
from planner.app.results import AuditRecord, ExportScope
from planner.core.bundled import BUNDLED_IDS, bundled
from planner.core.errors import NotFound, out_of_range
from planner.core.visits import VisitRecord, visit_order
from planner.store.repository import audit, participants, protocols, records

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_DAYS = judged.MAX_DAYS


def known_kinds(ctx: Context, session: Session, site_ids: Sequence[int] | None = None) -> list[str]:
    """The kinds of visit a stored or bundled protocol (or a stored visit, at
    these sites when given) uses."""
    found = {series.kind for pid in BUNDLED_IDS for series in bundled(pid).schedule}
    for row in protocols.latest_versions(session):
        found |= {series.kind for series in ctx.parse_version(row).schedule}
    return sorted(found | records.kinds(session, site_ids))


def kinds(ctx: Context, sites: Sequence[str] | None = None) -> list[str]:
    """The kinds of visit that stored or bundled protocols (or stored visits,
    at these sites when given: an unscheduled visit's kind is free text) use."""
    with ctx.db.read() as session:
        ids = None if sites is None else [ctx.site_id(session, code) for code in sites]
        return known_kinds(ctx, session, ids)


def check_kind(ctx: Context, session: Session, kind: str | None) -> None:
    """Refuse a kind no protocol uses: a filter on it would silently match nothing."""
    if kind is None:
        return
    choices = known_kinds(ctx, session)
    if kind not in choices:
        raise NotFound(
            f"unknown kind {kind!r} (kinds: {', '.join(choices)})",
            field="kind",
            value=kind,
            choices=choices,
        )


def check_arm(
    ctx: Context, session: Session, protocol: str | None, arm: str | None
) -> tuple[int, ...] | None:
    """The stored versions of ``protocol`` (None when not given), after refusing an
    arm that neither it (or, without it, any protocol) nor any participant has:
    a filter on it would silently match nothing."""
    versions = ctx.version_ids(session, protocol) if protocol is not None else None
    if arm is None:
        return versions
    rows = protocols.latest_versions(session)
    ids = [protocol] if protocol else sorted({*BUNDLED_IDS, *(r.protocol_id for r in rows)})
    choices = set(participants.arms(session, versions))
    for pid in ids:
        stored = [ctx.parse_version(r) for r in rows if r.protocol_id == pid]
        for found in stored or ([bundled(pid)] if pid in BUNDLED_IDS else []):
            choices |= set(found.arm_codes())
    if arm not in choices:
        where = f" for protocol {protocol}" if protocol is not None else ""
        raise NotFound(
            f"unknown arm {arm!r}{where} (arms: {', '.join(sorted(choices))})",
            field="arm",
            value=arm,
            choices=sorted(choices),
        )
    return versions


def schedule(ctx: Context, participant: str) -> list[VisitRecord]:
    """Every visit of a participant, in date order."""
    with ctx.db.read() as session:
        return ctx.schedule(session, ctx.participant(session, participant).id)


def _spans(
    ctx: Context, session: Session, site: str | None, given: date | None
) -> list[tuple[int, date]]:
    """Each site asked about, with the day to count from: ``given``, or today there."""
    found = records.site_zones(session, site, ctx.db.protocols)
    if site is not None and not found:
        raise unknown_site(session, site)
    return judged.spans(found, given, ctx.today)


def upcoming(
    ctx: Context,
    start: date | None,
    days: int,
    site: str | None,
    protocol: str | None,
    arm: str | None,
    kind: str | None,
) -> list[VisitRecord]:
    """Scheduled visits whose target lies in ``days`` days from ``start``.

    Without ``start``, each site's own today (in its time zone) is used.
    """
    if not 1 <= days <= MAX_DAYS:
        raise out_of_range("days", days, 1, MAX_DAYS, "the number of days")
    with ctx.db.read() as session:
        check_kind(ctx, session, kind)
        versions = check_arm(ctx, session, protocol, arm)
        where = records.Filter(version_ids=versions, arm=arm, kind=kind)

        def query(site_id: int, first: date, end: date) -> list[VisitRecord]:
            return records.due(session, ctx.db.protocols, site_id, first, end, where)

        return judged.upcoming(_spans(ctx, session, site, start), days, query)


def overdue(ctx: Context, as_of: date | None, site: str | None) -> list[VisitRecord]:
    """Scheduled visits whose window ended before ``as_of`` (default: today at each site)."""
    with ctx.db.read() as session:
        spans = _spans(ctx, session, site, as_of)
        found: list[VisitRecord] = []
        for site_id, cutoff in spans:
            found += records.overdue(session, ctx.db.protocols, site_id, cutoff)
    return sorted(found, key=visit_order) if len(spans) > 1 else found


def _judged(
    ctx: Context,
    as_of: date | None,
    site: str | None,
    where: tuple[str | None, str | None, str | None],
    query: Callable[..., list[VisitRecord]],
) -> list[VisitAsOf]:
    """The visits ``query`` finds at each site on its day, in :func:`due_order`."""
    protocol, arm, kind = where
    with ctx.db.read() as session:
        check_kind(ctx, session, kind)
        versions = check_arm(ctx, session, protocol, arm)
        narrow = records.Filter(version_ids=versions, arm=arm, kind=kind)

        def ask(site_id: int, day: date) -> list[VisitRecord]:
            return query(session, ctx.db.protocols, site_id, day, narrow)

        return judged.judged(_spans(ctx, session, site, as_of), ask)


def due(
    ctx: Context,
    as_of: date | None,
    site: str | None,
    protocol: str | None,
    arm: str | None,
    kind: str | None,
) -> list[VisitAsOf]:
    """Scheduled visits whose window holds ``as_of`` (default: today at each site)."""
    return _judged(ctx, as_of, site, (protocol, arm, kind), records.due_on)


def overdue_by(
    ctx: Context,
    as_of: date | None,
    site: str | None,
    protocol: str | None,
    arm: str | None,
    kind: str | None,
) -> list[VisitAsOf]:
    """Scheduled visits whose window ended before ``as_of``, in :func:`due_order`."""
    return _judged(ctx, as_of, site, (protocol, arm, kind), records.overdue_on)


def deviations(ctx: Context, site: str | None) -> list[VisitRecord]:
    """Visits recorded or moved outside their window."""
    with ctx.db.read() as session:
        site_id = ctx.site_id(session, site) if site is not None else None
        return records.deviations(session, ctx.db.protocols, site_id)


def _filter(ctx: Context, session: Session, scope: ExportScope) -> records.Filter:
    participant_id = None
    if scope.participant is not None:
        participant_id = participants.id_by_code(session, scope.participant)
        if participant_id is None:
            raise unknown_participant(scope.participant)
    return records.Filter(
        participant_id=participant_id,
        site_id=ctx.site_id(session, scope.site) if scope.site is not None else None,
        version_ids=ctx.version_ids(session, scope.protocol) if scope.protocol else None,
        start=scope.start,
        end=scope.end,
        include_cancelled=scope.include_cancelled,
    )


def visits(ctx: Context, scope: ExportScope) -> Iterator[VisitRecord]:
    """Visits for an export, streamed in date order."""
    with ctx.db.read() as session:
        yield from records.streamed(session, ctx.db.protocols, _filter(ctx, session, scope))


def zones(ctx: Context, scope: ExportScope) -> dict[str, tuple[date, date]]:
    """The time zones of an export's timed visits, each with its date range."""
    with ctx.db.read() as session:
        return records.zone_ranges(session, _filter(ctx, session, scope))


def audit_trail(ctx: Context, participant: str | None) -> list[AuditRecord]:
    with ctx.db.read() as session:
        if participant is not None:
            ctx.participant(session, participant)
        return [
            AuditRecord(
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                participant=entry.participant,
                visit=entry.visit,
                before=json.loads(entry.before) if entry.before else None,
                after=json.loads(entry.after) if entry.after else None,
                reason=entry.reason,
            )
            for entry in audit.entries(session, participant)
        ]
