"""A participant's timeline as SVG pictures, drawn on the server: the weeks
around today, and the whole study.

One lane per series (Infusion, Follow-up...), a date axis on top, each visit's
window as a bar and the visit as a marker coloured by status (at its actual
date once it happened), a vertical line for today, and a dashed link from each
re-planned visit to the visit it is counted from. The picture is a list of
shapes with coordinates; ``_timeline.html`` writes them as SVG elements, so
every text in it is escaped like the rest of the page. Colours and dashes are
in the stylesheet (class names), never in style attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from planner.app.site_timeline import Timeline
from planner.core.visits import UNSCHEDULED, VisitRecord, occurrence_text

WIDTH = 960
LEFT = 120
RIGHT = 16
TOP = 34
LANE = 30
BOTTOM = 10
MAX_TICKS = 12
#: The close-up picture: two weeks before today, six after.
NEAR_BEFORE = 14
NEAR_AFTER = 42
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Marker:
    visit_id: str
    x: float
    y: float
    bar_x: float
    bar_width: float
    status: str
    deviation: bool
    title: str


@dataclass(frozen=True, slots=True)
class Link:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(slots=True)
class Picture:
    #: ``near`` (the weeks around today) or ``all`` (the whole study).
    key: str
    width: int
    height: int
    title: str
    description: str
    lanes: list[tuple[float, str]] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    today_x: float | None = None


class Scale:
    """Dates to x coordinates: a day is a column, a date sits in its middle."""

    def __init__(self, first: date, last: date) -> None:
        self.first = first
        self.days = max((last - first).days + 1, 1)
        self.per_day = (WIDTH - LEFT - RIGHT) / self.days

    def x(self, day: date, middle: bool = True) -> float:
        offset = (day - self.first).days + (0.5 if middle else 0.0)
        return round(LEFT + offset * self.per_day, 1)


def shown_date(record: VisitRecord) -> date:
    """Where a visit's marker sits: when it happened, else when it is planned."""
    return record.actual if record.status == "completed" and record.actual else record.target


def _span(timeline: Timeline) -> tuple[date, date]:
    days = [timeline.today, timeline.info.day1]
    for r in timeline.visits:
        days += [r.window_start, r.window_end, shown_date(r)]
    return min(days) - timedelta(days=2), max(days) + timedelta(days=2)


def _month_ticks(scale: Scale, first: date, last: date) -> list[Tick]:
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    step = max(1, math.ceil(months / MAX_TICKS))
    ticks: list[Tick] = []
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        day = date(year, month, 1)
        if day >= first and (year * 12 + month) % step == 0:
            label = f"{MONTHS[month - 1]} {year}" if month == 1 or not ticks else MONTHS[month - 1]
            ticks.append(Tick(scale.x(day, middle=False), label))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ticks


def _week_ticks(scale: Scale, first: date, last: date) -> list[Tick]:
    day = first + timedelta(days=(7 - first.weekday()) % 7)  # the first Monday
    ticks: list[Tick] = []
    while day <= last:
        ticks.append(Tick(scale.x(day, middle=False), f"{day.day} {MONTHS[day.month - 1]}"))
        day += timedelta(days=7)
    return ticks


def _title(record: VisitRecord) -> str:
    which = occurrence_text(record.occurrence, record.count, record.event)
    what = f"{record.visit_id} · {record.label} {which}".rstrip()
    if record.status == "completed" and record.actual:
        state = f"done {record.actual.isoformat()}"
    else:
        state = f"{record.status}, planned {record.target.isoformat()}"
    window = f"window {record.window_start.isoformat()} to {record.window_end.isoformat()}"
    flag = ", outside its window" if record.deviation else ""
    return f"{what}: {state}{flag} ({window})"


def _in_span(record: VisitRecord, first: date, last: date) -> bool:
    return (record.window_start <= last and record.window_end >= first) or (
        first <= shown_date(record) <= last
    )


def draw(timeline: Timeline, key: str = "all", span: tuple[date, date] | None = None) -> Picture:
    """The shapes of a participant's timeline: the whole study, or the visits
    of ``span`` (first and last day) with their windows cut at its ends."""
    first, last = span or _span(timeline)
    scale = Scale(first, last)
    shown = [r for r in timeline.visits if _in_span(r, first, last)]
    lanes: dict[str, float] = {}
    names: dict[str, str] = {}
    for record in shown:
        lanes.setdefault(record.event, TOP + LANE * len(lanes) + LANE / 2)
        unscheduled = record.event == UNSCHEDULED
        names.setdefault(record.event, "Unscheduled" if unscheduled else record.label)
    done = sum(1 for r in shown if r.status == "completed")
    picture = Picture(
        key,
        WIDTH,
        int(TOP + LANE * max(len(lanes), 1) + BOTTOM),
        f"Timeline of {timeline.info.participant}, {first.isoformat()} to {last.isoformat()}",
        f"{len(shown)} visits, {done} completed; today is {timeline.today.isoformat()}.",
        lanes=[(y, names[event]) for event, y in lanes.items()],
    )
    ticks = _month_ticks if scale.days > 70 else _week_ticks
    picture.ticks = ticks(scale, first, last)
    at: dict[str, tuple[float, float]] = {}
    for r in shown:
        x, y = scale.x(min(max(shown_date(r), first), last)), lanes[r.event]
        bar_x = scale.x(max(r.window_start, first), middle=False)
        bar_end = scale.x(min(r.window_end, last) + timedelta(days=1), middle=False)
        bar = round(max(bar_end - bar_x, 1.0), 1)
        picture.markers.append(
            Marker(r.visit_id, x, y, bar_x, bar, r.status, r.deviation, _title(r))
        )
        at[r.visit_id] = (x, y)
    for visit, anchor in timeline.anchors.items():
        if visit in timeline.replanned and visit in at and anchor in at:
            (x1, y1), (x2, y2) = at[anchor], at[visit]
            picture.links.append(Link(x1, y1, x2, y2))
    if first <= timeline.today <= last:
        picture.today_x = scale.x(timeline.today)
    return picture


def pictures(timeline: Timeline) -> list[Picture]:
    """The weeks around today (when the study is longer than that), then the whole study."""
    whole = draw(timeline)
    first, last = _span(timeline)
    near = (
        timeline.today - timedelta(days=NEAR_BEFORE),
        timeline.today + timedelta(days=NEAR_AFTER),
    )
    if (last - first).days <= NEAR_BEFORE + NEAR_AFTER or not any(
        _in_span(r, *near) for r in timeline.visits
    ):
        return [whole]
    return [draw(timeline, "near", near), whole]
