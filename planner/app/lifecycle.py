"""What happens to visits: completed, moved, missed; withdrawals and deaths."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.app.base import (
    Service,
    SurvivalChoice,
)
from planner.core.errors import InputError, NotFound, StaleData
from planner.core.visits import VisitRecord
from planner.store.models import (
    Participant,
    Site,
    Visit,
)


class LifecyclePart(Service):
    """Recording what happened to visits and participants, re-planning the rest."""

    def complete(
        self, visit: str, on: date, *, expected_revision: int | None = None
    ) -> list[VisitRecord]:
        """Record that a visit happened on a date; re-plan what depends on it.

        Outside the window it is still recorded, and flagged as a deviation.
        """
        with self._write() as session, session.begin():
            row, participant, zone = self._visit_for_change(session, visit, expected_revision)
            today = self.today(zone)
            if on > today:
                raise InputError(
                    f"cannot complete {visit} on {on}: that is in the future (today is {today})"
                )
            previous = session.scalar(
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
            if previous is not None and on < previous:
                raise InputError(
                    f"cannot complete {visit} on {on}: the previous {row.event} visit was "
                    f"completed later, on {previous}"
                )
            deviation = not row.window_start <= on <= row.window_end
            self._change(
                session,
                row,
                participant,
                "complete",
                {"status": "completed", "actual": on, "deviation": deviation},
            )
            self._replan(session, participant)
        return self.schedule(participant.code)

    def move(
        self,
        visit: str,
        to: date,
        *,
        reason: str | None = None,
        force: bool = False,
        expected_revision: int | None = None,
    ) -> list[VisitRecord]:
        """Move a scheduled visit; outside its window only with ``force``."""
        with self._write() as session, session.begin():
            row, participant, _ = self._visit_for_change(session, visit, expected_revision)
            outside = not row.window_start <= to <= row.window_end
            if outside and not force:
                raise InputError(
                    f"cannot move {visit} to {to}: its window is {row.window_start} to "
                    f"{row.window_end}; use --force to move it outside (it will be flagged "
                    "as a deviation)"
                )
            if to == row.target:
                raise InputError(f"{visit} is already planned for {to}")
            self._change(
                session,
                row,
                participant,
                "move",
                {"target": to, "pinned": True, "deviation": outside},
                reason=reason,
            )
            self._replan(session, participant)
        return self.schedule(participant.code)

    def miss(self, visit: str, *, expected_revision: int | None = None) -> list[VisitRecord]:
        """Record that a scheduled visit did not happen."""
        with self._write() as session, session.begin():
            row, participant, _ = self._visit_for_change(session, visit, expected_revision)
            self._change(session, row, participant, "miss", {"status": "missed"})
        return self.schedule(participant.code)

    def withdraw(
        self,
        participant: str,
        on: date,
        *,
        reason: str | None = None,
        survival: SurvivalChoice = "protocol",
    ) -> int:
        """Withdraw from a date: cancel every later scheduled visit.

        Survival follow-up is kept as the protocol marks it, unless
        ``survival`` says to keep or cancel it. Returns how many were cancelled.
        """
        with self._write() as session, session.begin():
            row = self._active_participant(session, participant)
            protocol = self._participant_protocol(session, row)
            survival_codes = {s.code for s in protocol.series_for(row.arm) if s.survival}
            if survival == "keep":
                survival_codes |= {s.code for s in protocol.series_for(row.arm) if s.kind == "call"}

            def keep(visit: Visit) -> bool:
                return survival != "cancel" and visit.event in survival_codes

            count = self._cancel_after(session, row, on, keep, "withdraw", reason)
            self._end_participant(session, row, "withdrawn", on, reason, count)
            return count

    def died(self, participant: str, on: date) -> int:
        """Record a death: cancel every scheduled visit after the date."""
        with self._write() as session, session.begin():
            row = session.scalar(select(Participant).where(Participant.code == participant))
            if row is None:
                raise NotFound(f"unknown participant {participant!r}")
            if row.status == "died":
                raise InputError(f"participant {participant!r} is already recorded as died")
            zone = session.scalar(select(Site.timezone).where(Site.id == row.site_id)) or "UTC"
            today = self.today(zone)
            if on > today:
                raise InputError(f"date of death {on} is in the future (today is {today})")
            count = self._cancel_after(session, row, on, lambda _: False, "died", None)
            self._end_participant(session, row, "died", on, None, count)
            return count

    def _visit_for_change(
        self, session: Session, visit: str, expected_revision: int | None
    ) -> tuple[Visit, Participant, str]:
        parts = visit.rsplit("/", 2)
        if len(parts) != 3 or not re.fullmatch("[0-9]{1,6}", parts[2]):
            raise InputError(
                f"visit id {visit!r} is not of the form PARTICIPANT/EVENT/N (e.g. WUH-001/INF/2)"
            )
        code, event, number = parts
        found = session.execute(
            select(Visit, Participant, Site.timezone)
            .join(Participant, Participant.id == Visit.participant_id)
            .join(Site, Site.id == Visit.site_id)
            .where(
                Participant.code == code,
                Visit.event == event,
                Visit.occurrence == int(number),
            )
        ).first()
        if found is None:
            raise NotFound(f"unknown visit {visit!r}")
        row, participant, zone = found
        if expected_revision is not None and row.revision != expected_revision:
            raise StaleData(
                f"{visit} changed since you read it (revision {row.revision}, you saw "
                f"{expected_revision}); look at it again and retry"
            )
        if row.status != "scheduled":
            when = f" on {row.actual}" if row.actual else ""
            raise InputError(f"{visit} is {row.status}{when}; only scheduled visits can change")
        return row, participant, zone

    def _cancel_after(
        self,
        session: Session,
        participant: Participant,
        on: date,
        keep: Callable[[Visit], bool],
        action: str,
        reason: str | None,
    ) -> int:
        rows = session.scalars(
            select(Visit)
            .where(
                Visit.participant_id == participant.id,
                Visit.status == "scheduled",
                Visit.target > on,
            )
            .order_by(Visit.target, Visit.event, Visit.occurrence)
        ).all()
        count = 0
        for row in rows:
            if keep(row):
                continue
            self._change(
                session,
                row,
                participant,
                "cancel",
                {"status": "cancelled"},
                reason=reason or action,
            )
            count += 1
        return count

    def _end_participant(
        self,
        session: Session,
        row: Participant,
        status: str,
        on: date,
        reason: str | None,
        cancelled: int,
    ) -> None:
        before = {"status": row.status, "ended_on": row.ended_on}
        row.status = status
        row.ended_on = on
        self._audit(
            session,
            "withdraw" if status == "withdrawn" else "died",
            participant=row.code,
            before=before,
            after={"status": status, "ended_on": on, "cancelled": cancelled},
            reason=reason,
        )

    def _active_participant(self, session: Session, code: str) -> Participant:
        row = session.scalar(select(Participant).where(Participant.code == code))
        if row is None:
            raise NotFound(f"unknown participant {code!r}")
        if row.status != "active":
            raise InputError(f"participant {code!r} is already {row.status} (on {row.ended_on})")
        return row
