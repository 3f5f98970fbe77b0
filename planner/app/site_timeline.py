"""What a participant's timeline picture shows: every visit, what each one is
counted from (its anchor, from the protocol version the participant is on),
which visits were re-planned, and today at the participant's site.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from planner.core.errors import PlannerError
from planner.core.protocol import StudyProtocol
from planner.core.schedule import expand
from planner.core.visits import VisitRecord, visit_id

if TYPE_CHECKING:
    from planner.app.participants import ParticipantInfo
    from planner.app.site_view import SiteView


@dataclass(frozen=True, slots=True)
class Timeline:
    info: ParticipantInfo
    visits: tuple[VisitRecord, ...]
    #: A visit's id → the id of the visit it is counted from (day-1 visits: absent).
    anchors: dict[str, str]
    #: Visits whose date a re-plan changed at least once (from the audit trail).
    replanned: frozenset[str]
    today: date
    #: The title of the protocol version the participant is on.
    title: str


def timeline(view: SiteView, code: str) -> Timeline:
    """A participant's timeline, as the user may see it (else NotFound)."""
    info, records = view.participant(code)
    planner = view.planner
    replanned = frozenset(
        e.visit for e in planner.audit(code) if e.action == "replan" and e.visit is not None
    )
    today = planner.today(planner.site(info.site).timezone)
    protocol, _ = planner.amendments.version(info.protocol, info.protocol_version)
    anchors = _anchors(protocol, info)
    return Timeline(info, tuple(records), anchors, replanned, today, protocol.title)


def _anchors(protocol: StudyProtocol, info: ParticipantInfo) -> dict[str, str]:
    try:
        planned = expand(protocol, info.arm, info.day1)
    except PlannerError:  # a schedule that no longer expands: no links, still a picture
        return {}
    code = info.participant
    return {
        visit_id(code, o.event, o.occurrence): visit_id(code, *o.anchor)
        for o in planned
        if o.anchor is not None
    }
