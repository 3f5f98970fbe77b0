"""Writing checked enrolments, a batch at a time, inside the enrolment's one
transaction: participants, their visits and their audit rows.

What is the same for many rows is done once: a plan (the visits of a
protocol version's arm from a day 1 at a site) is expanded once and converted
once for the database driver, then written for every participant who shares
it. Kept plans are bounded (:data:`PLANS_KEPT`), and nothing else outlives a
batch, so memory stays flat however many rows a file has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from planner.app.context import Context
from planner.core.chain import plan_digest, source_digest
from planner.core.enrolment import Enrolment
from planner.core.errors import Conflict
from planner.core.protocol import StudyProtocol
from planner.core.schedule import Occurrence, expand
from planner.store.models import ProtocolVersion, Site
from planner.store.repository import audit, participants, sites, visits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Plans kept for reuse; beyond this many the oldest half is dropped.
PLANS_KEPT = 4096

#: Told ``(done, total)`` as participants are planned; for progress bars.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Checked:
    """What enrolment resolved once for all rows: sites and protocol versions."""

    sites: dict[str, Site]
    versions: dict[str, tuple[ProtocolVersion, StudyProtocol]]


class EnrolmentWriter:
    """Writes batches of checked enrolments; tells ``progress`` as it goes."""

    def __init__(
        self, ctx: Context, session: Session, total: int, progress: Progress | None
    ) -> None:
        self._ctx, self._session = ctx, session
        self._now = ctx.now()
        self._people = participants.new_rows(session)
        self._visits = visits.plan_rows(session)
        self._plans: dict[tuple[int, str, date, int], tuple[visits.PreparedPlan, str]] = {}
        self._sources: dict[int, str] = {}  # each version's source digest
        self._total, self._done, self._progress = total, 0, progress

    def write(self, batch: Sequence[Enrolment], checked: Checked) -> None:
        if not batch:
            return
        session = self._session
        values = [
            (e.participant, checked.versions[e.protocol][0].id, e.arm,
             checked.sites[e.site].id, e.day1, e.weight_kg, "active", self._now)
            for e in batch
        ]  # fmt: skip
        try:
            participants.insert_rows(session, self._people, map(self._people.convert, values))
        except participants.CodeTaken:
            raise Conflict("a participant code was enrolled meanwhile; retry") from None
        ids = participants.ids_by_code(session, [e.participant for e in batch])
        planned: list[tuple[int, visits.PreparedPlan]] = []
        audit_rows: list[dict[str, Any]] = []
        for enrolment in batch:
            version, protocol = checked.versions[enrolment.protocol]
            site_id = checked.sites[enrolment.site].id
            plan, digest = self._plan(version.id, protocol, enrolment, site_id)
            planned.append((ids[enrolment.participant], plan))
            audit_rows.append(self._audit_row(enrolment, protocol, version, len(plan), digest))
            self._tell()
        visits.insert_planned(session, self._visits, planned)
        audit.add(session, audit_rows)

    def _tell(self) -> None:
        self._done += 1
        if self._progress is not None and (self._done % 100 == 0 or self._done == self._total):
            self._progress(self._done, self._total)

    def _plan(
        self, version_id: int, protocol: StudyProtocol, enrolment: Enrolment, site_id: int
    ) -> tuple[visits.PreparedPlan, str]:
        """The visits of an enrolment, expanded and converted once per plan,
        and their digest (:func:`~planner.core.chain.plan_digest`)."""
        key = (version_id, enrolment.arm, enrolment.day1, site_id)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= PLANS_KEPT:
                for old in list(self._plans)[: PLANS_KEPT // 2]:
                    del self._plans[old]
            calendar = sites.calendar(self._session, site_id)
            occurrences = expand(protocol, enrolment.arm, enrolment.day1, place=calendar.place)
            rows = [_visit_values(o, self._now) for o in occurrences]
            prepared = visits.prepare_plan(self._visits, site_id, rows)
            plan = self._plans[key] = (prepared, plan_digest(rows))
        return plan

    def _audit_row(
        self,
        enrolment: Enrolment,
        protocol: StudyProtocol,
        version: ProtocolVersion,
        count: int,
        digest: str,
    ) -> dict[str, Any]:
        after = {
            "protocol": protocol.id,
            "version": version.version,
            "arm": enrolment.arm,
            "site": enrolment.site,
            "day1": enrolment.day1,
            "weight_kg": enrolment.weight_kg,
            "visits": count,
            "plan": digest,  # what ``planner audit verify`` compares the visits with
            # ... and the stored protocol's source with
            "source_sha256": self._source_digest(version),
        }
        return audit.entry(
            self._now, self._ctx.actor, "enroll", participant=enrolment.participant, after=after
        )

    def _source_digest(self, version: ProtocolVersion) -> str:
        found = self._sources.get(version.id)
        if found is None:
            found = self._sources[version.id] = source_digest(version.source)
        return found


def _visit_values(o: Occurrence, now: datetime) -> dict[str, Any]:
    """A planned occurrence as a new visit's values."""
    return {
        "event": o.event,
        "occurrence": o.occurrence,
        "kind": o.kind,
        "ideal": o.ideal,
        "target": o.target,
        "window_start": o.window_start,
        "window_end": o.window_end,
        "time": o.time.strftime("%H:%M") if o.time else None,
        "duration_minutes": o.duration_minutes,
        "status": "scheduled",
        "pinned": False,
        "deviation": False,
        "revision": 0,
        "updated_at": now,
    }
