"""A participant's visit as the outside world sees it: one record per visit.

:class:`VisitRecord` is what queries return and what the JSON/CSV output and
the iCalendar renderer consume. Its identity is stable: ``visit_id`` is
readable (``WUH-001/INF/2``) and ``uid`` (the iCalendar UID) is derived only
from protocol, participant, event and occurrence, so the same visit has the
same UID whatever database or export produced it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, NamedTuple

from planner.core.errors import InputError

Status = Literal["scheduled", "completed", "missed", "cancelled"]
STATUSES: tuple[Status, ...] = ("scheduled", "completed", "missed", "cancelled")

#: Namespace of visit UIDs; never change it, or every calendar duplicates.
UID_NAMESPACE = uuid.UUID("6f1c1d52-4a57-4f43-9a38-0b8f5e2d7c11")
UID_DOMAIN = "planner"
_NAMESPACE_BYTES = UID_NAMESPACE.bytes


_OCCURRENCE = re.compile(r"[0-9]{1,6}")

#: The series code of visits added outside the protocol (``WUH-001/UNS/1``);
#: protocols may not use it.
UNSCHEDULED = "UNS"


class VisitId(NamedTuple):
    """Who and which visit: ``WUH-001/INF/2`` is participant, series, occurrence.

    The one place a visit id is formatted or parsed. Participant codes may
    hold ``/``-free characters only, so the last two ``/`` split it.
    """

    participant: str
    event: str
    occurrence: int

    def to_string(self) -> str:
        return f"{self.participant}/{self.event}/{self.occurrence}"

    @classmethod
    def from_string(cls, text: str) -> VisitId:
        parts = text.rsplit("/", 2)
        if len(parts) != 3 or not parts[0] or not parts[1] or not _OCCURRENCE.fullmatch(parts[2]):
            raise InputError(
                f"visit id {text!r} is not of the form PARTICIPANT/EVENT/N (e.g. WUH-001/INF/2)",
                field="visit",
                value=text,
                allowed="PARTICIPANT/EVENT/N",
            )
        return cls(parts[0], parts[1], int(parts[2]))


def visit_id(participant: str, event: str, occurrence: int) -> str:
    return VisitId(participant, event, occurrence).to_string()


def visit_uid(protocol: str, participant: str, event: str, occurrence: int) -> str:
    """The iCalendar UID of a visit: stable forever, opaque, not a row id.

    The UUID 5 of protocol, participant, event and occurrence (RFC 4122),
    computed as :func:`uuid.uuid5` does, without building UUID objects: the
    SHA-1 of namespace and name in hex, its 13th digit set to the version (5)
    and its 17th to the RFC 4122 variant (top bits ``10``).
    """
    digest = _UID_HASH.copy()  # the namespace, hashed once
    digest.update(f"{protocol}\x1f{participant}\x1f{event}\x1f{occurrence}".encode())
    t = digest.hexdigest()
    return f"{t[:8]}-{t[8:12]}-5{t[13:16]}-{_VARIANT[t[16]]}{t[17:20]}-{t[20:32]}@{UID_DOMAIN}"


_UID_HASH = hashlib.sha1(_NAMESPACE_BYTES)
#: A hex digit with its top two bits set to ``10`` (the RFC 4122 variant).
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def occurrence_text(occurrence: int, count: int, event: str = "") -> str:
    """Which occurrence of how many, as people read it: ``2/3``. An occurrence
    beyond the count of the participant's protocol version (one an amendment
    dropped, kept as history) reads ``4 (dropped)``, never ``4/3``; an
    unscheduled visit is one of no series (its number is in its id): empty."""
    if event == UNSCHEDULED:
        return ""
    if occurrence <= count:
        return f"{occurrence}/{count}"
    return f"{occurrence} (dropped)"


@dataclass(frozen=True, slots=True)
class VisitRecord:
    visit_id: str
    participant: str
    site: str
    protocol: str
    protocol_version: int
    arm: str
    event: str
    label: str
    kind: str
    contact: str
    setting: str
    occurrence: int
    count: int
    study_day: int
    ideal: date
    target: date
    window_start: date
    window_end: date
    #: Local time "HH:MM" in ``timezone``, or None for a date-only visit.
    time: str | None
    duration_minutes: int | None
    timezone: str
    status: Status
    actual: date | None
    deviation: bool
    revision: int
    #: When the visit last changed (UTC, naive or aware).
    updated: datetime
    dose: str
    uid: str

    def to_json(self) -> dict[str, Any]:
        """The JSON object of SPEC §6 (plus a few more keys)."""
        return {
            "visit_id": self.visit_id,
            "participant": self.participant,
            "site": self.site,
            "protocol": self.protocol,
            "protocol_version": self.protocol_version,
            "arm": self.arm,
            "event": self.event,
            "label": self.label,
            "kind": self.kind,
            "contact": self.contact,
            "setting": self.setting,
            "occurrence": self.occurrence,
            "count": self.count,
            "study_day": self.study_day,
            "ideal": self.ideal.isoformat(),
            "target": self.target.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "time": self.time,
            "duration_minutes": self.duration_minutes,
            "timezone": self.timezone,
            "status": self.status,
            "actual": self.actual.isoformat() if self.actual else None,
            "deviation": self.deviation,
            "revision": self.revision,
            "uid": self.uid,
        }


def visit_order(record: VisitRecord) -> tuple[date, str, str, str, int]:
    """The order people read visits in: date, time (date-only first), who, which."""
    return (record.target, record.time or "", record.participant, record.event, record.occurrence)


#: Column order of CSV output.
CSV_COLUMNS = (
    "visit_id",
    "participant",
    "site",
    "protocol",
    "arm",
    "event",
    "label",
    "kind",
    "occurrence",
    "study_day",
    "ideal",
    "target",
    "window_start",
    "window_end",
    "time",
    "timezone",
    "status",
    "actual",
    "deviation",
    "revision",
    "uid",
)
