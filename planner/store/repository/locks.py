"""Locks that make concurrent writes take turns, on a database server.

A write that reads a site's calendar or a participant's visits locks them
first thing in its transaction, so that it waits for any write to them in
progress and then reads what that one committed (READ COMMITTED reads
afresh at every statement):

- the site row, ``FOR SHARE`` by writes that read its calendar (enrolments,
  visit changes, re-planning) and ``FOR UPDATE`` by writes that change it
  (closings, capacities);
- the participant row, ``FOR UPDATE`` by every write to the participant.

Always in one order, so that two writes never wait for each other: an
enrolment first takes the enrolments' advisory lock (:func:`enrolments`);
then sites before participants, each by ascending id; then the
transaction-scoped advisory locks (storing a protocol version, then
appending to the audit trail, :mod:`planner.store.repository.audit`).

SQLite needs none of this: every writing transaction starts with
``BEGIN IMMEDIATE`` and holds the whole database until it ends.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from planner.store.models import Participant, Site

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

#: Keys of the PostgreSQL advisory locks (the audit trail's is 7_170_017).
MIGRATION_LOCK = 7_170_015
PROTOCOL_LOCK = 7_170_016
ENROLMENT_LOCK = 7_170_018
#: Rows locked per statement, in ascending order across statements.
BATCH = 500


def _needed(dialect: Dialect) -> bool:
    return dialect.name != "sqlite"


def _batches(ids: Collection[int]) -> list[list[int]]:
    ordered = sorted(set(ids))
    return [ordered[first : first + BATCH] for first in range(0, len(ordered), BATCH)]


def take(
    session: Session,
    *,
    participants: Collection[str] = (),
    sites: Collection[str] = (),
    calendar: bool = False,
) -> None:
    """Lock participants (by code) with their sites, and sites (by code).

    ``calendar`` when the write changes the sites' calendars: their rows are
    then locked exclusively, else shared. Unknown codes lock nothing (the
    use case reports them). Participant objects already loaded into the
    session are refreshed from the locked rows.
    """
    if not _needed(session.get_bind().dialect) or not (participants or sites):
        return
    people = _participant_sites(session, participants)
    site_ids = set(people.values()) | set(_site_ids(session, sites))
    for batch in _batches(site_ids):
        rows = select(Site.id).where(Site.id.in_(batch)).order_by(Site.id)
        session.execute(rows.with_for_update(read=not calendar)).all()
    for batch in _batches(people):
        query = (
            select(Participant)
            .where(Participant.id.in_(batch))
            .order_by(Participant.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        session.scalars(query).all()


def _participant_sites(session: Session, codes: Collection[str]) -> dict[int, int]:
    """``{participant id: site id}`` of the participants among ``codes``."""
    found: dict[int, int] = {}
    listed = sorted(set(codes))
    for first in range(0, len(listed), BATCH):
        query = select(Participant.id, Participant.site_id).where(
            Participant.code.in_(listed[first : first + BATCH])
        )
        found.update({pid: sid for pid, sid in session.execute(query)})
    return found


def _site_ids(session: Session, codes: Collection[str]) -> Sequence[int]:
    if not codes:
        return []
    return session.scalars(select(Site.id).where(Site.code.in_(sorted(set(codes))))).all()


def enrolments(session: Session) -> None:
    """Take turns enrolling, until the transaction ends: first thing in an
    enrolment's transaction (only enrolments take it, so no write waits on it
    while holding what an enrolment waits for). Participant codes are compared
    without letter case, and a code not stored yet has no row to lock: two
    enrolments of ``Q-1`` and ``q-1`` at once would each find no twin."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ENROLMENT_LOCK})


def protocol_versions(session: Session) -> None:
    """Take turns storing protocol versions (two first uses of a bundled
    protocol would both store version 1); until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROTOCOL_LOCK})


def migrations(connection: Connection) -> None:
    """Take turns migrating a PostgreSQL database, until the transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
