"""What one web user may see and do: the queries of :class:`~planner.app.Planner`
restricted to the user's sites, and the record actions signed by the user.

The web page and the JSON API both go through a :class:`SiteView`, so the rule
lives in one place: another site's participant or visit is :class:`NotFound`
with the very sentence an unknown one gets (nothing tells that it exists); a
site filter outside the user's sites gives an empty list. Changes are made by
``planner.acting_as(user.name)``, only when the user may record
(:class:`NotPermitted` otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from planner.app.context import unknown_participant
from planner.app.judged import due_order
from planner.core.errors import NotFound, PlannerError
from planner.core.visits import VisitId, VisitRecord, visit_order

if TYPE_CHECKING:
    from planner.app.judged import VisitAsOf
    from planner.app.participants import ParticipantInfo
    from planner.app.planner import Planner
    from planner.app.results import AuditRecord, Outcome, SiteInfo
    from planner.app.users import UserInfo

T = TypeVar("T")


class NotPermitted(PlannerError):
    """The user's role does not allow the change (a viewer recording a visit)."""


def unknown_visit(visit: str) -> NotFound:
    return NotFound(f"unknown visit {visit!r}", field="visit", value=visit)


class SiteView:
    """The planner as one user sees it: their sites only."""

    def __init__(self, planner: Planner, user: UserInfo) -> None:
        self.planner = planner
        self.user = user

    # ---------------------------------------------------------------- scope

    def sites(self) -> list[SiteInfo]:
        return [s for s in self.planner.sites() if self.user.sees(s.code)]

    def _site_filters(self, site: str | None) -> list[str | None]:
        """The site arguments to ask the planner with: none when ``site`` is
        not the user's, one ``None`` (every site) for a user of all sites."""
        if site is not None:
            return [site] if self.user.sees(site) else []
        if self.user.all_sites:
            return [None]
        return list(self.user.sites)

    def _merged(
        self, site: str | None, ask: Callable[[str | None], list[T]], key: Callable[[T], Any]
    ) -> list[T]:
        filters = self._site_filters(site)
        found = [item for one in filters for item in ask(one)]
        return found if len(filters) == 1 else sorted(found, key=key)

    # -------------------------------------------------------------- queries

    def due(
        self,
        as_of: date | None = None,
        *,
        site: str | None = None,
        protocol: str | None = None,
        arm: str | None = None,
        kind: str | None = None,
    ) -> list[VisitAsOf]:
        self._known_kind(kind)

        def ask(one: str | None) -> list[VisitAsOf]:
            return self.planner.due(as_of, site=one, protocol=protocol, arm=arm, kind=kind)

        return self._merged(site, ask, due_order)

    def overdue(
        self,
        as_of: date | None = None,
        *,
        site: str | None = None,
        protocol: str | None = None,
        arm: str | None = None,
        kind: str | None = None,
    ) -> list[VisitAsOf]:
        self._known_kind(kind)

        def ask(one: str | None) -> list[VisitAsOf]:
            return self.planner.overdue_by(as_of, site=one, protocol=protocol, arm=arm, kind=kind)

        return self._merged(site, ask, due_order)

    def upcoming(
        self,
        start: date | None = None,
        days: int = 14,
        *,
        site: str | None = None,
        protocol: str | None = None,
        arm: str | None = None,
        kind: str | None = None,
    ) -> list[VisitRecord]:
        self._known_kind(kind)

        def ask(one: str | None) -> list[VisitRecord]:
            return self.planner.upcoming(
                start, days, site=one, protocol=protocol, arm=arm, kind=kind
            )

        return self._merged(site, ask, visit_order)

    def out_of_window(self, *, site: str | None = None) -> list[VisitRecord]:
        """Visits completed or moved outside their window (protocol deviations)."""
        return self._merged(site, lambda one: self.planner.deviations(site=one), visit_order)

    def participants(
        self, *, site: str | None = None, protocol: str | None = None, status: str | None = None
    ) -> list[ParticipantInfo]:
        def ask(one: str | None) -> list[ParticipantInfo]:
            return self.planner.participants(site=one, protocol=protocol, status=status)

        return self._merged(site, ask, lambda p: p.participant)

    def participant(self, code: str) -> tuple[ParticipantInfo, list[VisitRecord]]:
        """A participant of the user's sites and every visit; else unknown."""
        info, records = self.planner.participant_schedule(code)
        if not self.user.sees(info.site):
            raise unknown_participant(code)
        return info, records

    def visible_codes(self) -> set[str]:
        return {p.participant for p in self.participants()}

    def audit(
        self,
        participant: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[AuditRecord]:
        """Audit rows of the user's participants (a user of all sites sees all
        rows), oldest first, between two UTC days when given."""
        if participant is not None:
            self.participant(participant)
        entries: Iterable[AuditRecord] = self.planner.audit(participant)
        if not self.user.all_sites:
            codes = self.visible_codes()
            entries = (e for e in entries if e.participant in codes)
        return [
            e
            for e in entries
            if (start is None or e.at.date() >= start) and (end is None or e.at.date() <= end)
        ]

    def kinds(self) -> list[str]:
        """Protocols' kinds and those of visits at the user's sites (an
        unscheduled visit's kind, typed at another site, is not shown)."""
        return self.planner.kinds(sites=None if self.user.all_sites else list(self.user.sites))

    def _known_kind(self, kind: str | None) -> None:
        """Refuse a kind the user cannot see, in the words of a kind nobody has."""
        if kind is not None and kind not in (choices := self.kinds()):
            raise NotFound(
                f"unknown kind {kind!r} (kinds: {', '.join(choices)})",
                field="kind",
                value=kind,
                choices=choices,
            )

    def protocols(self) -> list[str]:
        return sorted({p.id for p in self.planner.protocols()})

    # -------------------------------------------------------------- changes

    def visit(self, visit: str) -> VisitRecord:
        """A visit of the user's sites; else unknown, as a visit that does not exist."""
        try:
            _, records = self.participant(VisitId.from_string(visit).participant)
        except NotFound:
            raise unknown_visit(visit) from None
        for record in records:
            if record.visit_id == visit:
                return record
        raise unknown_visit(visit)

    def recorder(self) -> Planner:
        """The planner signing changes with the user's name, if the user may record."""
        if not self.user.can_record:
            raise NotPermitted(
                f"user {self.user.name!r} ({self.user.role}) may look but not record",
                field="role",
                value=self.user.role,
            )
        return self.planner.acting_as(self.user.name)

    def complete(self, visit: str, on: date, revision: int, reason: str | None = None) -> Outcome:
        self.visit(visit)
        return self.recorder().complete(visit, on, reason=reason, expected_revision=revision)

    def move(
        self, visit: str, to: date, revision: int, *, reason: str | None, force: bool
    ) -> Outcome:
        self.visit(visit)
        return self.recorder().move(
            visit, to, reason=reason, force=force, expected_revision=revision
        )

    def miss(self, visit: str, revision: int, reason: str | None = None) -> Outcome:
        self.visit(visit)
        return self.recorder().miss(visit, reason=reason, expected_revision=revision)

    def undo(self, visit: str, revision: int, reason: str) -> Outcome:
        """Undo a completion or miss, if nobody changed the visit since ``revision``."""
        self.visit(visit)
        return self.recorder().undo(visit, reason=reason, expected_revision=revision)

    def add_visit(
        self,
        participant: str,
        on: date,
        label: str,
        *,
        kind: str = "visit",
        time: str | None = None,
        reason: str | None = None,
        expected_number: int | None = None,
    ) -> Outcome:
        self.participant(participant)
        return self.recorder().add_visit(
            participant,
            on,
            label,
            kind=kind,
            time=time,
            reason=reason,
            expected_number=expected_number,
        )
