"""What the SDTM exports read beyond visit records: every version of a
protocol, and the reasons recorded on its participants' visits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.core.visits import visit_id
from planner.store.models import Participant, Visit


def reasons(session: Session, version_ids: Sequence[int]) -> dict[str, str]:
    """Visit id → the reason recorded on it, for the participants of these versions."""
    query = (
        select(Participant.code, Visit.event, Visit.occurrence, Visit.reason)
        .join(Participant, Participant.id == Visit.participant_id)
        .where(Participant.protocol_version_id.in_(version_ids), Visit.reason.is_not(None))
    )
    return {
        visit_id(code, event, occurrence): reason
        for code, event, occurrence, reason in session.execute(query)
        if reason
    }
