"""Schedule expansion and re-planning: pure functions of their inputs.

:func:`expand` turns a protocol arm and a participant's day 1 into dated
occurrences. Given the dates that are already known (what actually happened,
and where a coordinator moved a visit), the same function re-plans: an
occurrence anchored on another is counted from that one's actual date when it
happened, else from its current target. Nothing here reads a clock, a file or
a database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from typing import NamedTuple

from planner.core.errors import ScheduleError
from planner.core.protocol import Series, StudyProtocol


class VisitKey(NamedTuple):
    """One occurrence of one series: ``("INF", 2)``."""

    event: str
    occurrence: int

    def to_string(self) -> str:
        return f"{self.event}/{self.occurrence}"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One dated occurrence of a series for one participant."""

    event: str
    occurrence: int
    count: int
    label: str
    kind: str
    setting: str
    contact: str
    survival: bool
    #: The date the anchors give (before site calendars or moves).
    ideal: date
    #: The date the visit is planned for: ``ideal``, a moved date, or the
    #: nearest open day when a site calendar applies.
    target: date
    window_start: date
    window_end: date
    study_day: int
    time: time | None
    duration_minutes: int | None
    #: What this occurrence is counted from; None for day 1.
    anchor: VisitKey | None

    @property
    def key(self) -> VisitKey:
        return VisitKey(self.event, self.occurrence)


#: Chooses the planned date for an occurrence given its ideal date and window,
#: no earlier than a given day (or from the window's start when None); site
#: calendars use it to step off closed days. None when no day in the window
#: qualifies: the occurrence then stays on its ideal date (a conflict).
Placer = Callable[[Occurrence, date | None], date | None]


def study_day(day1: date, on: date) -> int:
    """The study day of a date: day 1 is ``day1``, and there is no day 0."""
    delta = (on - day1).days
    return delta + 1 if delta >= 0 else delta


def day_of_study(day1: date, day: int) -> date:
    """The date of study day ``day`` (negative days are before day 1)."""
    if day == 0:
        raise ScheduleError("there is no study day 0", field="day", value=day)
    return _shift(day1, day - 1 if day > 0 else day)


def add_months(reference: date, months: int) -> date:
    """Calendar months after a date, clamped at the end of the month."""
    import pendulum  # only protocols with monthly timing need it

    try:
        added = pendulum.Date(reference.year, reference.month, reference.day).add(months=months)
    except (OverflowError, ValueError):
        raise ScheduleError(
            f"{months} months after {reference} is out of range", field="months", value=months
        ) from None
    return date(added.year, added.month, added.day)


def _shift(on: date, days: int) -> date:
    try:
        return on + timedelta(days=days)
    except OverflowError:
        raise ScheduleError(f"{days} days from {on} is out of range") from None


def expand(
    protocol: StudyProtocol,
    arm: str,
    day1: date,
    *,
    actual: Mapping[VisitKey, date] | None = None,
    moved: Mapping[VisitKey, date] | None = None,
    place: Placer | None = None,
) -> list[Occurrence]:
    """Every occurrence of an arm's schedule for a participant, in date order.

    ``actual`` holds the dates on which visits happened; ``moved`` the dates a
    coordinator moved scheduled visits to. Both anchor the occurrences that
    count from them (``actual`` first). A moved visit's target is the moved
    date; its window stays where the protocol puts it. ``place`` may choose a
    target near the ideal date (site calendars); it is not used for moved
    visits.

    The result is sorted by target date, time, series code and occurrence, so
    it does not depend on the order of series in the protocol file.
    """
    if arm not in protocol.arm_codes():
        raise ScheduleError(
            f"unknown arm {arm!r} (arms: {', '.join(protocol.arm_codes())})",
            field="arm",
            value=arm,
            choices=protocol.arm_codes(),
        )
    actual = actual or {}
    moved = moved or {}
    series_by_code = {series.code: series for series in protocol.series_for(arm)}
    dates: dict[VisitKey, date] = {}  # the date each occurrence anchors others on
    result: list[Occurrence] = []

    for series in _in_anchor_order(series_by_code):
        for occurrence in _expand_series(series, day1, dates, actual, moved, place):
            result.append(occurrence)
            dates[occurrence.key] = actual.get(occurrence.key, occurrence.target)

    result.sort(key=sort_key)
    return result


def sort_key(occurrence: Occurrence) -> tuple[date, time, str, int]:
    return (
        occurrence.target,
        occurrence.time or time(0, 0),
        occurrence.event,
        occurrence.occurrence,
    )


def _in_anchor_order(series_by_code: Mapping[str, Series]) -> list[Series]:
    """Series sorted so that each comes after the series it is anchored on.

    Ties are broken by code, so the order of the file does not matter.
    Validation has ruled out cycles.
    """
    ordered: list[Series] = []
    placed: set[str] = set()

    def place_series(code: str) -> None:
        if code in placed:
            return
        series = series_by_code[code]
        anchor_event = series.anchor.event
        if anchor_event is not None and anchor_event in series_by_code:
            place_series(anchor_event)
        placed.add(code)
        ordered.append(series)

    for code in sorted(series_by_code):
        place_series(code)
    return ordered


def _offsets(series: Series) -> list[int]:
    """Days (or months) after the reference, one per occurrence.

    With the day-1 (or previous) anchor, listed days are study days.
    """
    timing = series.timing
    from_day1 = series.anchor.kind != "occurrence"

    def day_offset(day: int) -> int:
        return day - 1 if from_day1 and day > 0 else day

    if timing.days:
        return [day_offset(day) for day in timing.days]
    if timing.weeks:
        return [7 * week for week in timing.weeks]
    if timing.months:
        return list(timing.months)
    step = (timing.every or 1) * (7 if timing.unit == "weeks" else 1)
    first = day_offset(timing.start if timing.start is not None else 1)
    return [first + step * k for k in range(timing.count or 0)]


def _expand_series(
    series: Series,
    day1: date,
    dates: Mapping[VisitKey, date],
    actual: Mapping[VisitKey, date],
    moved: Mapping[VisitKey, date],
    place: Placer | None,
) -> list[Occurrence]:
    offsets = _offsets(series)
    anchor = series.anchor
    count = len(offsets)
    occurrences: list[Occurrence] = []
    anchor_key: VisitKey | None = None
    reference = day1
    if anchor.kind == "occurrence" and anchor.event and anchor.occurrence:
        anchor_key = VisitKey(anchor.event, anchor.occurrence)
        reference = dates[anchor_key]

    previous: date | None = None  # the previous occurrence's date (actual, else planned)
    placed: date | None = None  # ... when done or placed by the calendar (not moved by hand)
    for index, offset in enumerate(offsets):
        number = index + 1
        key = VisitKey(series.code, number)
        this_anchor = anchor_key
        if series.timing.months:
            ideal = add_months(reference, offset)
        elif anchor.kind == "previous" and previous is not None:
            this_anchor = VisitKey(series.code, number - 1)
            ideal = _shift(previous, offset - offsets[index - 1])
        else:
            ideal = _shift(reference, offset)
        window = series.window_for(number)
        occurrence = Occurrence(
            event=series.code,
            occurrence=number,
            count=count,
            label=series.label,
            kind=series.kind,
            setting=series.setting,
            contact=series.contact,
            survival=series.survival,
            ideal=ideal,
            target=ideal,
            window_start=_shift(ideal, -window.before),
            window_end=_shift(ideal, window.after),
            study_day=study_day(day1, ideal),
            time=series.local_time,
            duration_minutes=series.duration,
            anchor=this_anchor,
        )
        target = moved.get(key)
        if target is None and place is not None:
            chained = anchor.kind == "previous" and index > 0
            target = _placed(occurrence, place, placed, chained, day1)
        if target is not None and target != ideal:
            occurrence = replace(occurrence, target=target, study_day=study_day(day1, target))
        occurrences.append(occurrence)
        previous = actual.get(key, occurrence.target)
        placed = actual.get(key, None if key in moved else occurrence.target)
    return occurrences


def _placed(
    occurrence: Occurrence, place: Placer, previous: date | None, chained: bool, day1: date
) -> date | None:
    """Where a site puts an occurrence, keeping a series in order.

    Never before day 1 for an occurrence planned from day 1 on: day 1 is the
    first treatment (or enrolment), so an occurrence planned on day 1 itself
    stays there even on a closed day (a conflict to report, not a first
    infusion moved before the study starts), and a later one is placed in the
    part of its window from day 1 on.

    Every occurrence stays strictly after the previous one of its series when
    that one was done or placed by the calendar (``previous``; None when a
    coordinator moved it, or it was missed or cancelled: those days push
    nothing, as at a site that never closes). A
    chained occurrence (counted from the previous one) also keeps at least the
    protocol's interval: it only moves later within its window; when the
    window has no such open day it stays on its ideal date, as a conflict.
    Stepping back would shorten the interval, and the next dose, counted from
    this one, would step back onto the same day again.
    """
    if chained:
        return place(occurrence, occurrence.ideal)
    if occurrence.ideal == day1:
        return day1
    earliest = previous + timedelta(days=1) if previous is not None else None
    if occurrence.ideal > day1:
        earliest = day1 if earliest is None else max(earliest, day1)
    return place(occurrence, earliest)
