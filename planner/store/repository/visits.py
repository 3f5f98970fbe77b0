"""Visit rows: planned at enrolment, changed one revision at a time."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, aliased

from planner.core.visits import VisitId
from planner.store.models import Participant, Site, Visit, visits_table
from planner.store.repository import inserts


def of_participant(session: Session, participant_id: int) -> Sequence[Visit]:
    return session.scalars(select(Visit).where(Visit.participant_id == participant_id)).all()


def by_id(session: Session, visit: VisitId) -> tuple[Visit, Participant, str] | None:
    """A visit with its participant and its site's time zone."""
    found = session.execute(
        select(Visit, Participant, Site.timezone)
        .join(Participant, Participant.id == Visit.participant_id)
        .join(Site, Site.id == Visit.site_id)
        .where(
            Participant.code == visit.participant,
            Visit.event == visit.event,
            Visit.occurrence == visit.occurrence,
        )
    ).first()
    if found is None:
        return None
    row, participant, zone = found
    return row, participant, zone


def previous_completion(session: Session, row: Visit) -> date | None:
    """When the latest earlier occurrence of the same series was completed."""
    return session.scalar(
        select(Visit.actual)
        .where(
            Visit.participant_id == row.participant_id,
            Visit.event == row.event,
            Visit.occurrence < row.occurrence,
            Visit.status == "completed",
        )
        .order_by(Visit.occurrence.desc())
        .limit(1)
    )


def next_completion(session: Session, row: Visit) -> date | None:
    """When the earliest later occurrence of the same series was completed."""
    return session.scalar(
        select(func.min(Visit.actual)).where(
            Visit.participant_id == row.participant_id,
            Visit.event == row.event,
            Visit.occurrence > row.occurrence,
            Visit.status == "completed",
        )
    )


def insert_many(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(insert(visits_table), rows)


#: The values of a visit planned at enrolment (beyond its participant and site).
PLAN_COLUMNS = (
    "event", "occurrence", "kind", "ideal", "target", "window_start", "window_end", "time",
    "duration_minutes", "status", "pinned", "deviation", "revision", "updated_at",
)  # fmt: skip

#: A plan's visits converted for the database driver (:func:`prepare_plan`).
PreparedPlan = list[tuple[Any, ...]]


def plan_rows(session: Session) -> inserts.Rows:
    """Converts planned visits for :func:`prepare_plan` and :func:`insert_planned`."""
    return inserts.Rows(session, visits_table, ("participant_id", "site_id", *PLAN_COLUMNS))


def prepare_plan(
    rows: inserts.Rows, site_id: int, plan: Iterable[Mapping[str, Any]]
) -> PreparedPlan:
    """A plan (one mapping of :data:`PLAN_COLUMNS` a visit) at a site, converted
    once for every participant who shares it."""
    return [
        rows.convert((None, site_id, *(visit[name] for name in PLAN_COLUMNS))) for visit in plan
    ]


def insert_planned(
    session: Session, rows: inserts.Rows, planned: Iterable[tuple[int, PreparedPlan]]
) -> None:
    """Insert the visits of ``(participant id, prepared plan)`` pairs at once."""
    values = ((pid, *visit[1:]) for pid, plan in planned for visit in plan)
    inserts.insert(session, rows, values)


def update_revision(session: Session, row: Visit, values: dict[str, Any]) -> bool:
    """Write new values if the row is still at the revision read; False if not."""
    result = session.execute(
        update(Visit)
        .where(Visit.id == row.id, Visit.revision == row.revision)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.expire(row)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def over_capacity(
    session: Session, site_id: int, kind: str, per_day: int, start: date, end: date
) -> list[tuple[date, int]]:
    """Days on which scheduled events of a kind exceed a cap, with their count."""
    rows = session.execute(
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
    )
    return [(day, count) for day, count in rows]


def last_occurrence(session: Session, participant_id: int, event: str) -> int:
    """The highest occurrence number of a series for a participant (0 if none)."""
    found = session.scalar(
        select(func.max(Visit.occurrence)).where(
            Visit.participant_id == participant_id, Visit.event == event
        )
    )
    return int(found or 0)


def stored_values(
    session: Session, codes: Sequence[str], columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """The participants' visits: code, series, occurrence, then ``columns``."""
    query = (
        select(Participant.code, Visit.event, Visit.occurrence,
               *(getattr(Visit, name) for name in columns))
        .join(Participant, Participant.id == Visit.participant_id)
        .where(Participant.code.in_(codes))
    )  # fmt: skip
    return [tuple(row) for row in session.execute(query)]


def revisions(session: Session) -> Generator[tuple[str, str, int, int]]:
    """Every visit's participant code, series, occurrence and revision."""
    query = (
        select(Participant.code, Visit.event, Visit.occurrence, Visit.revision)
        .join(Participant, Participant.id == Visit.participant_id)
        .execution_options(yield_per=5000)
    )
    result = session.execute(query)
    try:
        for code, event, occurrence, revision in result:
            yield str(code), str(event), int(occurrence), int(revision)
    finally:
        result.close()  # a server-side cursor, when the caller stops early


def away_from_participant_site(session: Session) -> tuple[str, str, int, str, str] | None:
    """A visit stored at another site than its participant's (none is ever
    written so): code, series, occurrence, the visit's site, the participant's."""
    visit_site = aliased(Site)
    query = (
        select(Participant.code, Visit.event, Visit.occurrence, visit_site.code, Site.code)
        .join(Participant, Participant.id == Visit.participant_id)
        .join(Site, Site.id == Participant.site_id)
        .join(visit_site, visit_site.id == Visit.site_id)
        .where(Visit.site_id != Participant.site_id)
        .order_by(Participant.code, Visit.event, Visit.occurrence)
        .limit(1)
    )
    row = session.execute(query).first()
    return (
        None if row is None else (str(row[0]), str(row[1]), int(row[2]), str(row[3]), str(row[4]))
    )
