"""Trial elements of one arm, derived from its series (TA and TE).

An arm's planned visits fall into up to four elements, in this order:

1. **Screening** (``SCREEN``, epoch SCREENING): only when some visit is
   planned before study day 1. From the first such visit to the day before
   study day 1.
2. **The arm's own element** (ETCD = the arm code, epoch TREATMENT): from
   study day 1 to the end of the day of the last *treatment* visit, a visit
   of a series whose kind is in :data:`TREATMENT_KINDS` or that has a dose.
   An arm without treatment visits (a control arm) stays in this element
   until its last visit that is not survival follow-up.
3. **Follow-up** (``FU``, epoch FOLLOW-UP): when visits that are not
   survival follow-up come after the last treatment visit. From the day
   after it to the end of the day of the last of them.
4. **Survival follow-up** (``SURVFU``, epoch LONG-TERM FOLLOW-UP): the
   visits of survival series, from the day after the last other visit.

TEDUR is the planned length, ``P<n>D``; ``P<n>M`` when the element ends n
calendar months after the visit it starts after; empty when calendar months
make its length vary. A visit's EPOCH is that of the element its planned
date falls in (survival series: always LONG-TERM FOLLOW-UP).
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.core.protocol import Arm, Series
from planner.core.schedule import VisitKey
from planner.core.sdtm.planned import NOMINAL_DAY1, PlannedVisit
from planner.core.sdtm.rules import lower_label

#: Series kinds that are study treatment (a series with a dose is, too).
TREATMENT_KINDS = frozenset(
    {"infusion", "injection", "transfusion", "dose", "dosing", "treatment", "implant"}
)
SCREENING, TREATMENT, FOLLOW_UP, LONG_TERM = (
    "SCREENING",
    "TREATMENT",
    "FOLLOW-UP",
    "LONG-TERM FOLLOW-UP",
)


@dataclass(frozen=True, slots=True)
class Element:
    etcd: str
    element: str
    epoch: str
    start_rule: str
    end_rule: str
    #: ISO 8601 duration, or "" when it is not fixed.
    duration: str


def is_treatment(series: Series) -> bool:
    return series.kind in TREATMENT_KINDS or series.dose is not None


def _last(visits: list[PlannedVisit]) -> PlannedVisit:
    return max(visits, key=lambda visit: (visit.nominal, visit.visitnum))


def _span(first_day: int | None, last: PlannedVisit) -> str:
    """``P<n>D`` from study day ``first_day`` to the end of ``last``'s day."""
    if first_day is None or last.visitdy is None:
        return ""
    days = last.visitdy - first_day + 1 - (1 if first_day < 0 < last.visitdy else 0)
    return f"P{days}D"


def _after(visit: PlannedVisit | None) -> int | None:
    if visit is None:
        return 1
    return None if visit.visitdy is None else visit.visitdy + 1


def _ends(visit: PlannedVisit) -> str:
    return f"End of the day of the last {lower_label(visit.series.label)}"


def _survival_length(start: PlannedVisit | None, last: PlannedVisit) -> str:
    span = _span(_after(start), last)
    months = last.series.timing.months
    if span or not months:
        return span
    anchor = last.series.anchor
    anchored_on = None
    if anchor.event is not None and anchor.occurrence is not None:
        anchored_on = VisitKey(anchor.event, anchor.occurrence)
    if (start is None and anchored_on is None) or (start and anchored_on == start.key):
        return f"P{months[last.occurrence - 1]}M"
    return ""


def _screening(visits: list[PlannedVisit]) -> Element:
    first = min(visits, key=lambda visit: (visit.nominal, visit.visitnum))
    days = "" if first.visitdy is None else f"P{-first.visitdy}D"
    start = f"Date of the first {lower_label(first.series.label)}"
    return Element("SCREEN", "Screening", SCREENING, start, "Day before study day 1", days)


def _treatment_phases(
    arm: Arm, etcd: str, main: list[PlannedVisit]
) -> tuple[list[Element], dict[VisitKey, str]]:
    treatment = [visit for visit in main if is_treatment(visit.series)]
    end = _last(treatment or main)
    elements = [Element(etcd, arm.label, TREATMENT, "Study day 1", _ends(end), _span(1, end))]
    epochs = {v.key: TREATMENT if v.nominal <= end.nominal else FOLLOW_UP for v in main}
    if FOLLOW_UP in epochs.values():
        last = _last(main)
        start = f"Day after the last {lower_label(end.series.label)}"
        span = _span(_after(end), last)
        elements.append(Element("FU", "Follow-up", FOLLOW_UP, start, _ends(last), span))
    return elements, epochs


def arm_elements(
    arm: Arm, etcd: str, visits: list[PlannedVisit]
) -> tuple[list[Element], dict[VisitKey, str]]:
    """The elements of an arm in order, and the EPOCH of each planned visit."""
    before = [v for v in visits if v.nominal < NOMINAL_DAY1 and not v.series.survival]
    main = [v for v in visits if v.nominal >= NOMINAL_DAY1 and not v.series.survival]
    survival = [v for v in visits if v.series.survival]
    elements: list[Element] = []
    epochs: dict[VisitKey, str] = {}
    if before:
        elements.append(_screening(before))
        epochs.update((visit.key, SCREENING) for visit in before)
    if main:
        phases, main_epochs = _treatment_phases(arm, etcd, main)
        elements.extend(phases)
        epochs.update(main_epochs)
    if survival:
        start = _last(main) if main else None
        last = _last(survival)
        begins = f"Day after the last {lower_label(start.series.label)}" if start else "Study day 1"
        length = _survival_length(start, last)
        elements.append(
            Element("SURVFU", "Survival follow-up", LONG_TERM, begins, _ends(last), length)
        )
        epochs.update((visit.key, LONG_TERM) for visit in survival)
    return elements, epochs
