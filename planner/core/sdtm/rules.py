"""Visit rules in words (TVSTRL, TVENRL), from a series' timing and anchor.

The wording, for occurrence n of a series:

- anchored on day 1, listed or repeated days: ``Study day 8``;
- anchored on day 1, listed weeks: ``Week 4 (study day 29)``;
- calendar months from day 1: ``12 months after day 1``;
- anchored on another occurrence (or on the previous one of the same
  series): ``4 days after the actual date of infusion 1``, ``6 months after
  the actual date of follow-up 4`` (weeks when the rule is in weeks). Until
  that visit happens its planned date stands in for the actual date;
- then the window, when there is one: ``, window 2 days before to 5 days
  after`` (plain ASCII, as XPT files for submissions need).

The end rule is empty for a visit that is a date, and ``2 hours after the
start of the visit`` for a timed visit with a duration.

>>> plural(1, "day"), plural(-3, "day")
('1 day', '-3 days')
>>> window_text(Window(before=1, after=1))
', window 1 day before to 1 day after'
>>> window_text(Window(before=0, after=3))
', window 0 days before to 3 days after'
"""

from __future__ import annotations

from collections.abc import Mapping

from planner.core.protocol import Series, Window
from planner.core.schedule import Occurrence, VisitKey


def plural(amount: int, unit: str) -> str:
    return f"{amount} {unit}" if abs(amount) == 1 else f"{amount} {unit}s"


def lower_label(label: str) -> str:
    """``Follow-up`` → ``follow-up``, but ``MELD score`` stays as it is."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def visit_words(label: str, occurrence: int) -> str:
    """How a rule names a visit: ``infusion 1``."""
    return f"{lower_label(label)} {occurrence}"


def window_text(window: Window) -> str:
    if window.before == window.after == 0:
        return ""
    before, after = plural(window.before, "day"), plural(window.after, "day")
    return f", window {before} before to {after} after"


def _relative(days: int, in_weeks: bool, reference: str) -> str:
    if days == 0:
        return f"On the actual date of {reference}"
    where = "after" if days > 0 else "before"
    amount = abs(days)
    if in_weeks and amount % 7 == 0:
        return f"{plural(amount // 7, 'week')} {where} the actual date of {reference}"
    return f"{plural(amount, 'day')} {where} the actual date of {reference}"


def start_words(
    series: Series,
    occurrence: Occurrence,
    nominal: Mapping[VisitKey, Occurrence],
    labels: Mapping[str, str],
) -> str:
    """When the visit starts, in words, without the window."""
    timing = series.timing
    index = occurrence.occurrence - 1
    anchor = occurrence.anchor
    if anchor is None:
        if timing.months:
            return f"{plural(timing.months[index], 'month')} after day 1"
        if timing.weeks:
            return f"Week {timing.weeks[index]} (study day {occurrence.study_day})"
        return f"Study day {occurrence.study_day}"
    reference = visit_words(labels[anchor.event], anchor.occurrence)
    if timing.months:
        return f"{plural(timing.months[index], 'month')} after the actual date of {reference}"
    days = (occurrence.ideal - nominal[anchor].ideal).days
    return _relative(days, bool(timing.weeks) or timing.unit == "weeks", reference)


def start_rule(
    series: Series,
    occurrence: Occurrence,
    nominal: Mapping[VisitKey, Occurrence],
    labels: Mapping[str, str],
) -> str:
    """TVSTRL: the start rule and the window."""
    words = start_words(series, occurrence, nominal, labels)
    return words + window_text(series.window_for(occurrence.occurrence))


def end_rule(series: Series) -> str:
    """TVENRL: empty for a date-only visit, else its length after the start."""
    minutes = series.duration
    if minutes is None:
        return ""
    length = plural(minutes // 60, "hour") if minutes % 60 == 0 else plural(minutes, "minute")
    return f"{length} after the start of the visit"
