"""Series stay in order on closed days (issue 12, item 8).

A series counted from its previous occurrence (``anchor = "previous"``) with a
±1-day window used to collapse onto one day around a closed day: each dose
stepped back onto the previous one's date and the next dose, counted from
there, stepped back again.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.core.protocol import parse
from planner.core.schedule import expand
from planner.core.sitedays import Closure, SiteCalendar

DAY1 = date(2026, 3, 2)  # a Monday


def daily_protocol(every: int = 1, count: int = 10, before: int = 1, after: int = 1) -> str:
    return f"""
id = "chain"
title = "Chained doses"
[[arms]]
code = "A"
label = "A"
[[schedule]]
code = "DOSE"
label = "Dose"
kind = "infusion"
setting = "outpatient"
window = {{ before = {before}, after = {after} }}
timing = {{ every = {every}, count = {count}, start = 1 }}
anchor = "previous"
"""


def targets(text: str, calendar: SiteCalendar) -> list[date]:
    plan = expand(parse(text), "A", DAY1, place=calendar.place)
    return [o.target for o in sorted(plan, key=lambda o: o.occurrence)]


def test_one_closed_day_does_not_collapse_the_doses_after_it() -> None:
    closed = SiteCalendar(closures=(Closure(date(2026, 3, 4), date(2026, 3, 4), "audit"),))
    got = targets(daily_protocol(), closed)
    # Dose 3 (ideal 4 March, closed) moves a day later, not back onto dose 2;
    # every later dose counts on from it, one a day.
    assert got == [
        date(2026, 3, 2),
        date(2026, 3, 3),
        date(2026, 3, 5),
        date(2026, 3, 6),
        date(2026, 3, 7),
        date(2026, 3, 8),
        date(2026, 3, 9),
        date(2026, 3, 10),
        date(2026, 3, 11),
        date(2026, 3, 12),
    ]


def test_a_chained_dose_with_no_later_open_day_stays_as_a_conflict() -> None:
    # Closed 4 and 5 March: dose 3 (ideal 4 March, window 3-5) has no open day
    # on or after its ideal date in the window; it stays there, a conflict.
    closed = SiteCalendar(closures=(Closure(date(2026, 3, 4), date(2026, 3, 5), "audit"),))
    plan = expand(parse(daily_protocol()), "A", DAY1, place=closed.place)
    third = next(o for o in plan if o.occurrence == 3)
    assert third.target == third.ideal == date(2026, 3, 4)
    assert closed.is_conflict(third.target, third.setting)


@settings(max_examples=150, deadline=None)
@given(
    every=st.integers(1, 7),
    count=st.integers(2, 12),
    before=st.integers(0, 3),
    after=st.integers(0, 3),
    closed_weekdays=st.frozensets(st.integers(0, 6), max_size=5),
    closed_days=st.lists(st.integers(0, 60), max_size=8),
)
def test_every_dose_is_after_the_previous_one_by_at_least_the_interval(
    every: int,
    count: int,
    before: int,
    after: int,
    closed_weekdays: frozenset[int],
    closed_days: list[int],
) -> None:
    closures = tuple(
        Closure(DAY1 + timedelta(days=d), DAY1 + timedelta(days=d), "") for d in closed_days
    )
    calendar = SiteCalendar(closed_weekdays, closures=closures)
    plan = sorted(
        expand(parse(daily_protocol(every, count, before, after)), "A", DAY1, place=calendar.place),
        key=lambda o: o.occurrence,
    )
    for previous, this in pairwise(plan):
        assert this.target > previous.target
        assert (this.target - previous.target).days >= every
        assert this.window_start <= this.target <= this.window_end
        if this.target != this.ideal:
            assert calendar.is_open(this.target)
