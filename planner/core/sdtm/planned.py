"""The planned visits of one arm, as the trial design datasets see them.

The arm is expanded from a fixed, arbitrary day 1 (:data:`NOMINAL_DAY1`) with
nothing done yet; that gives each visit its planned study day (VISITDY),
the words of its rules and an order. A visit timed in calendar months, or
anchored (directly or not) on one that is, has no fixed study day: months
differ in length, so its VISITDY is left empty and its rule says it all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from planner.core.protocol import Series, StudyProtocol
from planner.core.schedule import Occurrence, VisitKey, expand
from planner.core.sdtm.numbering import VisitNumbering
from planner.core.sdtm.rules import end_rule, start_rule

#: The day 1 the design is computed from. Any date would do for VISITDY.
NOMINAL_DAY1 = date(2001, 1, 1)


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    """One planned visit of one arm."""

    arm: str
    series: Series
    occurrence: int
    visitnum: int
    visit: str
    #: Planned study day, or None when calendar months decide it.
    visitdy: int | None
    #: The date from :data:`NOMINAL_DAY1`, for ordering visits in time.
    nominal: date
    start_rule: str
    end_rule: str

    @property
    def key(self) -> VisitKey:
        return VisitKey(self.series.code, self.occurrence)


def _by_months(
    key: VisitKey, nominal: dict[VisitKey, Occurrence], series: dict[str, Series]
) -> bool:
    """Whether calendar months decide the date of ``key``, directly or not."""
    while True:
        if series[key.event].timing.months:
            return True
        anchor = nominal[key].anchor
        if anchor is None:
            return False
        key = anchor


def planned_visits(
    protocol: StudyProtocol, arm: str, numbering: VisitNumbering | None = None
) -> list[PlannedVisit]:
    """Every planned visit of ``arm``, in VISITNUM order."""
    numbering = numbering or VisitNumbering.of(protocol)
    series = {item.code: item for item in protocol.series_for(arm)}
    occurrences = expand(protocol, arm, NOMINAL_DAY1)
    nominal = {occurrence.key: occurrence for occurrence in occurrences}
    labels = dict(numbering.labels)
    visits = [
        PlannedVisit(
            arm=arm,
            series=series[occurrence.event],
            occurrence=occurrence.occurrence,
            visitnum=numbering.visitnum(occurrence.event, occurrence.occurrence),
            visit=numbering.visit(occurrence.event, occurrence.occurrence),
            visitdy=None if _by_months(occurrence.key, nominal, series) else occurrence.study_day,
            nominal=occurrence.ideal,
            start_rule=start_rule(series[occurrence.event], occurrence, nominal, labels),
            end_rule=end_rule(series[occurrence.event]),
        )
        for occurrence in occurrences
    ]
    return sorted(visits, key=lambda visit: visit.visitnum)
