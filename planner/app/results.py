"""What use cases take and give back: plain, typed values any interface can show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from planner.core.visits import VisitRecord

#: "Now", UTC, naive (as stored). Tests pass a fixed clock.
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class ExportScope:
    """Which visits an export holds; every field narrows it."""

    participant: str | None = None
    site: str | None = None
    protocol: str | None = None
    start: date | None = None
    end: date | None = None
    include_cancelled: bool = True


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    id: str
    version: int | None
    title: str
    arms: tuple[str, ...]
    bundled: bool


@dataclass(frozen=True, slots=True)
class SiteInfo:
    code: str
    name: str
    timezone: str
    closed_weekdays: str = ""
    holidays: str | None = None


@dataclass(frozen=True, slots=True)
class CapacityProblem:
    """More scheduled events of a kind on a day than a site's cap."""

    site: str
    day: date
    kind: str
    per_day: int
    count: int
    visits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str
    action: str
    participant: str | None
    visit: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat() + "Z",
            "actor": self.actor,
            "action": self.action,
            "participant": self.participant,
            "visit": self.visit,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class VisitChange:
    """One visit a use case changed: what, and the fields before and after."""

    visit: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]

    @property
    def deviation(self) -> bool:
        return bool(self.after.get("deviation"))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a change did: every visit it changed, in order, and the
    participant's schedule afterwards (empty when several participants
    changed, as when a site closes)."""

    changes: tuple[VisitChange, ...] = ()
    schedule: tuple[VisitRecord, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def replanned(self) -> tuple[VisitChange, ...]:
        return tuple(c for c in self.changes if c.action == "replan")

    @property
    def cancelled(self) -> int:
        return sum(1 for c in self.changes if c.action == "cancel")

    @property
    def deviations(self) -> tuple[VisitChange, ...]:
        """Changes that left a visit outside its window."""
        return tuple(c for c in self.changes if c.deviation)
