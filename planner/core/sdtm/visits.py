"""SV (Subject Visits) from the visit records of one protocol's participants.

One row per visit that happened (``completed``), and per planned visit that
was ``missed`` or is past due (scheduled, and the end of its window is
before ``today``): SVPRESP = Y, SVOCCUR = N, SVREASOC = the reason when one
is known. Cancelled visits (after withdrawal or death) and visits not yet
due are not subject visits. Unscheduled visits come from
:class:`UnscheduledVisit` (and, ahead of the records carrying a flag, from
records of the ``UNS`` series): VISITNUM and VISIT as in :mod:`.numbering`.

USUBJID is STUDYID-participant (:func:`.studyid.usubjid`). Study days count
from the participant's day 1, which the records give (their target date
and its study day); SVSTDY and SVENDY are never 0. Rows are in USUBJID
order, then by date (the actual date, else the planned one), then VISITNUM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from planner.core.errors import InputError
from planner.core.protocol import StudyProtocol
from planner.core.schedule import VisitKey, study_day
from planner.core.sdtm.columns import SV_COLUMNS
from planner.core.sdtm.dataset import Dataset, Row
from planner.core.sdtm.design import arm_designs
from planner.core.sdtm.numbering import (
    MAX_UNSCHEDULED,
    VisitNumbering,
    unscheduled_visit,
    unscheduled_visitnum,
)
from planner.core.sdtm.studyid import check_study_id, usubjid
from planner.core.visits import VisitRecord

#: The series code of unscheduled visits (``WUH-001/UNS/1``).
UNSCHEDULED_EVENT = "UNS"
CONTACT_MODES = {"phone": "TELEPHONE CALL", "in-person": "IN PERSON"}


@dataclass(frozen=True, slots=True)
class UnscheduledVisit:
    """A visit outside the protocol (SVUPDES is ``description``)."""

    participant: str
    on: date
    description: str
    contact: str = "in-person"
    #: Local time "HH:MM" (None: untimed), and the order it was recorded in
    #: (its occurrence): same-day unscheduled visits are numbered by these.
    time: str | None = None
    number: int = 0


def day1_of(record: VisitRecord) -> date:
    """The participant's day 1, from a record's target date and study day."""
    days = record.study_day - 1 if record.study_day > 0 else record.study_day
    return record.target - timedelta(days=days)


def _is_subject_visit(record: VisitRecord, today: date | Mapping[str, date]) -> bool:
    if record.status == "completed":
        return record.actual is not None
    if record.status != "scheduled":
        return record.status == "missed"
    cutoff = today if isinstance(today, date) else today[record.site]
    return record.window_end < cutoff


def _reason(record: VisitRecord, reasons: Mapping[str, str]) -> str:
    """Why a visit did not occur: the reason given when it was marked missed.
    A past-due visit still scheduled has none (a reason it holds was given
    for something else, a move)."""
    if record.status != "missed":
        return ""
    # ``reason`` is read if VisitRecord grows one; the mapping comes first.
    recorded = reasons.get(record.visit_id) or getattr(record, "reason", None)
    return str(recorded or "")


@dataclass(frozen=True, slots=True)
class _Entry:
    """One SV row under construction, with what ordering and numbering need."""

    subject: str
    visitnum: float
    visit: str
    #: The actual date, else the planned one (for ordering).
    on: date
    occurred: bool
    epoch: str
    row: Row

    @property
    def order(self) -> tuple[str, date, float]:
        return (self.subject, self.on, self.visitnum)


class _Builder:
    """Turns records and unscheduled visits into SV rows."""

    def __init__(self, protocol: StudyProtocol, study_id: str, numbering: VisitNumbering):
        self.study_id = study_id
        self.numbering = numbering
        self.arms = {arm.code: arm for arm in arm_designs(protocol, numbering)[0]}
        self.planned = {code: {v.key: v for v in arm.visits} for code, arm in self.arms.items()}

    def planned_entry(self, record: VisitRecord, reason: str) -> _Entry:
        if record.arm not in self.arms:
            raise InputError(
                f"visit {record.visit_id} is in arm {record.arm!r}, which the protocol has not",
                field="arm",
                value=record.arm,
                choices=list(self.arms),
            )
        key = VisitKey(record.event, record.occurrence)
        planned = self.planned[record.arm].get(key)
        visitnum = self.numbering.visitnum(record.event, record.occurrence)
        visit = self.numbering.visit(record.event, record.occurrence)
        head = (self.study_id, "SV", usubjid(self.study_id, record.participant), visitnum, visit)
        visitdy = planned.visitdy if planned else None
        epoch = self.arms[record.arm].epochs.get(key, "")
        if record.status == "completed" and record.actual is not None:
            on, day = record.actual.isoformat(), study_day(day1_of(record), record.actual)
            mode = CONTACT_MODES.get(record.contact, "IN PERSON")
            tail: Row = ("Y", "Y", "", mode, visitdy, epoch, on, on, day, day, "")
        else:
            tail = ("Y", "N", reason, "", visitdy, epoch, "", "", None, None, "")
        when = record.actual or record.target
        occurred = tail[1] == "Y"
        return _Entry(str(head[2]), visitnum, visit, when, occurred, epoch, head + tail)

    def unscheduled_entries(
        self, visits: Iterable[UnscheduledVisit], planned: list[_Entry], day1: Mapping[str, date]
    ) -> list[_Entry]:
        entries: list[_Entry] = []
        used: dict[tuple[str, float], int] = {}
        for visit in sorted(visits, key=_unscheduled_order):
            if visit.participant not in day1:
                raise InputError(
                    f"participant {visit.participant!r} has no planned visits in this protocol",
                    field="participant",
                    value=visit.participant,
                )
            subject = usubjid(self.study_id, visit.participant)
            before = [
                e for e in planned if e.subject == subject and e.occurred and e.on <= visit.on
            ]
            previous = max(before, key=lambda e: (e.on, e.visitnum), default=None)
            number = previous.visitnum if previous else 0
            n = used[(subject, number)] = used.get((subject, number), 0) + 1
            if n > MAX_UNSCHEDULED:
                after = f"after {previous.visit}" if previous else "before any planned visit"
                raise InputError(
                    f"participant {visit.participant} has more than {MAX_UNSCHEDULED} "
                    f"unscheduled visits {after}: SDTM numbers them {number}.01 to "
                    f"{number}.{MAX_UNSCHEDULED}",
                    field="participant",
                    value=visit.participant,
                )
            visitnum = unscheduled_visitnum(number, n)
            name = unscheduled_visit(previous.visit if previous else None, n)
            epoch = _epoch_before(planned, subject, visit.on)
            on, day = visit.on.isoformat(), study_day(day1[visit.participant], visit.on)
            mode = CONTACT_MODES.get(visit.contact, "IN PERSON")
            head = (self.study_id, "SV", subject, visitnum, name, "", "", "", mode, None, epoch)
            row: Row = (*head, on, on, day, day, visit.description)
            entries.append(_Entry(subject, visitnum, name, visit.on, True, epoch, row))
        return entries


def _unscheduled_order(visit: UnscheduledVisit) -> tuple[str, date, str, int, str]:
    """By participant and day, then time (untimed first), then the order recorded."""
    return (visit.participant, visit.on, visit.time or "", visit.number, visit.description)


def _epoch_before(planned: list[_Entry], subject: str, on: date) -> str:
    """The EPOCH of the planned visit before a day (attended or not): an
    unscheduled visit after a missed week-24 follow-up is in follow-up."""
    before = [e for e in planned if e.subject == subject and e.on <= on and e.epoch]
    previous = max(before, key=lambda e: (e.on, e.visitnum), default=None)
    return previous.epoch if previous else ""


def _from_record(record: VisitRecord) -> UnscheduledVisit | None:
    if record.status != "completed" or record.actual is None:
        return None
    return UnscheduledVisit(
        record.participant, record.actual, record.label, record.contact,
        record.time, record.occurrence,
    )  # fmt: skip


def subject_visits(
    protocol: StudyProtocol,
    records: Iterable[VisitRecord],
    *,
    study_id: str,
    today: date | Mapping[str, date],
    reasons: Mapping[str, str] | None = None,
    unscheduled: Iterable[UnscheduledVisit] = (),
    numbering: VisitNumbering | None = None,
) -> Dataset:
    """SV for ``records`` (of ``protocol``'s participants) as of ``today``:
    one date, or each site's own (by site code, as sites' days differ).

    ``reasons`` maps visit ids to why a visit did not happen (SVREASOC);
    ``numbering`` pins VISITNUM across protocol versions (default: this one).
    """
    check_study_id(study_id)
    builder = _Builder(protocol, study_id, numbering or VisitNumbering.of(protocol))
    extra = list(unscheduled)
    planned: list[_Entry] = []
    day1: dict[str, date] = {}
    for record in records:
        # Any record gives day 1 (an unscheduled one too: a participant may have
        # no planned visit left, all cancelled by an early withdrawal).
        day1.setdefault(record.participant, day1_of(record))
        if record.event == UNSCHEDULED_EVENT:
            extra.extend(found for found in [_from_record(record)] if found)
        elif _is_subject_visit(record, today):
            planned.append(builder.planned_entry(record, _reason(record, reasons or {})))
    entries = planned + builder.unscheduled_entries(extra, planned, day1)
    entries.sort(key=lambda entry: entry.order)
    return Dataset("SV", "Subject Visits", SV_COLUMNS, tuple(entry.row for entry in entries))
