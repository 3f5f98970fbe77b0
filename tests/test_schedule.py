"""The pure scheduler: exact dates for the bundled trials, month arithmetic,
re-planning, and properties over generated protocols."""

from __future__ import annotations

import calendar
import random
from collections.abc import Mapping
from datetime import date, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.core.bundled import bundled
from planner.core.errors import ScheduleError
from planner.core.protocol import StudyProtocol, parse, validate
from planner.core.schedule import (
    Occurrence,
    VisitKey,
    add_months,
    day_of_study,
    expand,
    study_day,
)

D = date.fromisoformat


def dates(occurrences: list[Occurrence], event: str) -> list[str]:
    return [o.target.isoformat() for o in occurrences if o.event == event]


def by_key(occurrences: list[Occurrence]) -> dict[VisitKey, Occurrence]:
    return {o.key: o for o in occurrences}


def inline(schedule: str, arms: str = 'code = "A"\nlabel = "A"') -> StudyProtocol:
    return parse(f'id = "inline"\ntitle = "Inline"\n[[arms]]\n{arms}\n{schedule}', "inline")


# --------------------------------------------------------------------------- ucmsc-dlc

DLC_DAY1 = D("2026-03-02")
DLC_FOLLOW_UPS = ["2026-03-30", "2026-05-25", "2026-08-17", "2026-11-09", "2027-02-01"]


def test_ucmsc_dlc_group_1() -> None:
    plan = expand(bundled("ucmsc-dlc"), "G1", DLC_DAY1)
    assert dates(plan, "INF") == ["2026-03-02", "2026-03-06", "2026-03-10", "2026-03-14"]
    assert dates(plan, "FU") == DLC_FOLLOW_UPS
    assert dates(plan, "SURV") == ["2027-03-02"]
    assert [o.event for o in plan] == ["INF"] * 4 + ["FU"] * 5 + ["SURV"]


def test_ucmsc_dlc_group_1_details() -> None:
    plan = by_key(expand(bundled("ucmsc-dlc"), "G1", DLC_DAY1))
    first, second = plan[VisitKey("INF", 1)], plan[VisitKey("INF", 2)]
    assert (first.study_day, first.anchor, first.count) == (1, None, 4)
    assert (second.study_day, second.anchor) == (5, VisitKey("INF", 1))
    assert (second.window_start, second.window_end) == (D("2026-03-05"), D("2026-03-07"))
    assert second.setting == "inpatient" and second.kind == "infusion"
    assert second.time is None and second.duration_minutes is None
    week4, week48 = plan[VisitKey("FU", 1)], plan[VisitKey("FU", 5)]
    assert (week4.study_day, week48.study_day) == (29, 337)
    assert (week4.window_start, week4.window_end) == (D("2026-03-27"), D("2026-04-02"))
    assert (week48.window_start, week48.window_end) == (D("2027-01-25"), D("2027-02-08"))
    survival = plan[VisitKey("SURV", 1)]
    assert survival.survival and survival.contact == "phone" and survival.setting == "remote"
    assert (survival.window_start, survival.window_end) == (D("2027-02-16"), D("2027-03-16"))
    assert survival.anchor is None


def test_ucmsc_dlc_group_2() -> None:
    plan = expand(bundled("ucmsc-dlc"), "G2", DLC_DAY1)
    assert dates(plan, "INF") == ["2026-03-02", "2026-03-09"]
    assert [o.count for o in plan if o.event == "INF"] == [2, 2]
    assert dates(plan, "FU") == DLC_FOLLOW_UPS
    assert dates(plan, "SURV") == ["2027-03-02"]


def test_ucmsc_dlc_control_has_no_infusions() -> None:
    plan = expand(bundled("ucmsc-dlc"), "CTRL", DLC_DAY1)
    assert dates(plan, "INF") == []
    assert dates(plan, "FU") == DLC_FOLLOW_UPS
    assert dates(plan, "SURV") == ["2027-03-02"]
    assert len(plan) == 6


# --------------------------------------------------------------------------- cs-huc-mscs

HUC_DAY1 = D("2026-04-20")


@pytest.mark.parametrize("arm", ["LOW", "MED", "HIGH"])
def test_cs_huc_mscs(arm: str) -> None:
    plan = expand(bundled("cs-huc-mscs"), arm, HUC_DAY1)
    assert dates(plan, "INF") == ["2026-04-20", "2026-04-27", "2026-05-04"]
    assert dates(plan, "IHFU") == ["2026-04-23", "2026-04-30", "2026-05-07", "2026-05-11"]
    assert dates(plan, "FU") == ["2026-05-18", "2026-06-15", "2026-07-13", "2026-10-05"]
    assert dates(plan, "SURV") == ["2027-04-05", "2027-10-05", "2028-04-05"]
    assert len(plan) == 14


def test_cs_huc_mscs_times_windows_and_study_days() -> None:
    plan = expand(bundled("cs-huc-mscs"), "MED", HUC_DAY1)
    infusions = [o for o in plan if o.event == "INF"]
    assert {(o.time, o.duration_minutes) for o in infusions} == {(time(9, 0), 120)}
    assert [o.study_day for o in infusions] == [1, 8, 15]
    others = [o for o in plan if o.event != "INF"]
    assert {(o.time, o.duration_minutes) for o in others} == {(None, None)}
    fu = [o for o in plan if o.event == "FU"]
    assert [o.study_day for o in fu] == [29, 57, 85, 169]
    assert [(o.target - o.window_start).days for o in fu] == [3, 5, 7, 7]
    assert [(o.window_end - o.target).days for o in fu] == [3, 5, 7, 7]
    ihfu = [o for o in plan if o.event == "IHFU"]
    assert [o.study_day for o in ihfu] == [4, 11, 18, 22]
    assert {o.setting for o in ihfu} == {"inpatient"}
    surv = [o for o in plan if o.event == "SURV"]
    assert {o.anchor for o in surv} == {VisitKey("FU", 4)}
    assert [(o.window_start, o.window_end) for o in surv] == [
        (D("2027-03-22"), D("2027-04-19")),
        (D("2027-09-21"), D("2027-10-19")),
        (D("2028-03-22"), D("2028-04-19")),
    ]
    assert plan[0].key == VisitKey("INF", 1)


def test_cs_huc_mscs_survival_after_week_24_on_31_august() -> None:
    day1 = D("2026-03-16")  # day 169 is 2026-08-31
    assert day_of_study(day1, 169) == D("2026-08-31")
    plan = expand(bundled("cs-huc-mscs"), "LOW", day1)
    assert dates(plan, "FU")[-1] == "2026-08-31"
    assert dates(plan, "SURV") == ["2027-02-28", "2027-08-31", "2028-02-29"]
    windows = [(o.window_start, o.window_end) for o in plan if o.event == "SURV"]
    assert windows[0] == (D("2027-02-14"), D("2027-03-14"))


def test_survival_calls_follow_a_late_week_24_onto_31_august() -> None:
    day1 = D("2026-03-13")  # week 24 due 2026-08-28, done on 2026-08-31
    plan = expand(bundled("cs-huc-mscs"), "LOW", day1, actual={VisitKey("FU", 4): D("2026-08-31")})
    assert dates(plan, "FU")[-1] == "2026-08-28"
    assert dates(plan, "SURV") == ["2027-02-28", "2027-08-31", "2028-02-29"]


# --------------------------------------------------------------------------- months


MONTHLY = """
[[schedule]]
code = "M"
label = "Monthly"
kind = "call"
timing = { months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] }
"""


def test_months_clamp_at_month_end_without_drifting() -> None:
    plan = expand(inline(MONTHLY), "A", D("2026-01-31"))
    assert dates(plan, "M") == [
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
        "2026-07-31",
        "2026-08-31",
        "2026-09-30",
        "2026-10-31",
        "2026-11-30",
        "2026-12-31",
        "2027-01-31",
        "2027-02-28",
    ]


def test_months_in_a_leap_year() -> None:
    plan = expand(inline(MONTHLY), "A", D("2027-01-31"))
    assert dates(plan, "M")[0] == "2027-02-28"
    assert dates(plan, "M")[12] == "2028-02-29"
    leap_day = expand(inline(MONTHLY), "A", D("2028-02-29"))
    assert dates(leap_day, "M")[0] == "2028-03-29"
    assert dates(leap_day, "M")[11] == "2029-02-28"
    assert dates(leap_day, "M")[12] == "2029-03-29"  # not the 28th: no drift


def test_months_from_an_occurrence_on_the_31st() -> None:
    protocol = inline(
        """
[[schedule]]
code = "REF"
label = "Reference visit"
kind = "visit"
timing = { days = [31] }

[[schedule]]
code = "M"
label = "Monthly"
kind = "call"
timing = { months = [0, 1, 2, 3, 25] }
anchor = { event = "REF", occurrence = 1 }
"""
    )
    plan = expand(protocol, "A", D("2026-01-01"))
    assert dates(plan, "REF") == ["2026-01-31"]
    assert dates(plan, "M") == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2028-02-29",
    ]
    assert {o.anchor for o in plan if o.event == "M"} == {VisitKey("REF", 1)}
    moved = expand(protocol, "A", D("2026-01-01"), moved={VisitKey("REF", 1): D("2026-01-30")})
    assert dates(moved, "M") == [
        "2026-01-30",
        "2026-02-28",
        "2026-03-30",
        "2026-04-30",
        "2028-02-29",
    ]


def _months_oracle(reference: date, months: int) -> date:
    years, month0 = divmod(reference.month - 1 + months, 12)
    year, month = reference.year + years, month0 + 1
    return date(year, month, min(reference.day, calendar.monthrange(year, month)[1]))


@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), st.integers(0, 240))
def test_add_months_is_calendar_arithmetic_clamped(reference: date, months: int) -> None:
    assert add_months(reference, months) == _months_oracle(reference, months)


# --------------------------------------------------------------------------- study days


def test_study_day_has_no_day_zero() -> None:
    day1 = D("2026-03-02")
    assert study_day(day1, day1) == 1
    assert study_day(day1, D("2026-03-03")) == 2
    assert study_day(day1, D("2026-03-01")) == -1
    assert study_day(day1, D("2026-02-16")) == -14
    assert day_of_study(day1, 1) == day1
    assert day_of_study(day1, 29) == D("2026-03-30")
    assert day_of_study(day1, -1) == D("2026-03-01")
    with pytest.raises(ScheduleError, match="there is no study day 0"):
        day_of_study(day1, 0)


@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), st.integers(-3000, 3000))
def test_study_day_and_day_of_study_are_inverse(day1: date, day: int) -> None:
    if day == 0:
        with pytest.raises(ScheduleError):
            day_of_study(day1, day)
        return
    on = day_of_study(day1, day)
    assert study_day(day1, on) == day
    assert study_day(day1, on) != 0
    # Consecutive calendar days skip study day 0 and nothing else.
    assert abs(study_day(day1, on + timedelta(days=1)) - day) in (1, 2)


def test_weeks_and_negative_days_on_day1() -> None:
    protocol = inline(
        """
[[schedule]]
code = "SCR"
label = "Screening"
kind = "visit"
timing = { days = [-14, -1] }

[[schedule]]
code = "W"
label = "Weekly"
kind = "visit"
timing = { weeks = [0, 1, 4, 24] }

[[schedule]]
code = "R"
label = "Every other week"
kind = "visit"
timing = { every = 2, unit = "weeks", count = 3, start = 8 }
"""
    )
    day1 = D("2026-03-02")
    plan = by_key(expand(protocol, "A", day1))
    assert [plan[VisitKey("SCR", n)].target for n in (1, 2)] == [D("2026-02-16"), D("2026-03-01")]
    assert [plan[VisitKey("SCR", n)].study_day for n in (1, 2)] == [-14, -1]
    # Week N is study day 7N + 1.
    assert [plan[VisitKey("W", n)].study_day for n in (1, 2, 3, 4)] == [1, 8, 29, 169]
    assert [plan[VisitKey("R", n)].study_day for n in (1, 2, 3)] == [8, 22, 36]


def test_days_after_an_occurrence_count_from_its_date() -> None:
    protocol = inline(
        """
[[schedule]]
code = "DIS"
label = "Discharge"
kind = "visit"
timing = { days = [22] }

[[schedule]]
code = "AFTER"
label = "After discharge"
kind = "call"
timing = { days = [0, 1, 7] }
anchor = { event = "DIS", occurrence = 1 }

[[schedule]]
code = "WK"
label = "Weekly after discharge"
kind = "call"
timing = { weeks = [1, 2] }
anchor = { event = "DIS", occurrence = 1 }

[[schedule]]
code = "REP"
label = "Repeated after discharge"
kind = "call"
timing = { every = 3, count = 2 }
anchor = { event = "DIS", occurrence = 1 }
"""
    )
    plan = expand(protocol, "A", D("2026-03-02"))
    assert dates(plan, "DIS") == ["2026-03-23"]
    assert dates(plan, "AFTER") == ["2026-03-23", "2026-03-24", "2026-03-30"]
    assert dates(plan, "WK") == ["2026-03-30", "2026-04-06"]
    # "start" defaults to 1: one day after the anchor's date.
    assert dates(plan, "REP") == ["2026-03-24", "2026-03-27"]


def test_unknown_arm() -> None:
    with pytest.raises(ScheduleError, match="unknown arm 'G3' \\(arms: G1, G2, CTRL\\)"):
        expand(bundled("ucmsc-dlc"), "G3", DLC_DAY1)


def test_same_day_events_sort_by_time_then_code() -> None:
    protocol = inline(
        """
[[schedule]]
code = "B"
label = "Untimed"
kind = "visit"
timing = { days = [1] }

[[schedule]]
code = "A"
label = "Afternoon"
kind = "visit"
time = "14:00"
timing = { days = [1] }

[[schedule]]
code = "C"
label = "Morning"
kind = "visit"
time = "08:00"
timing = { days = [1] }
""",
        arms='code = "X"\nlabel = "X"',
    )
    assert [o.event for o in expand(protocol, "X", D("2026-03-02"))] == ["B", "C", "A"]


# --------------------------------------------------------------------------- re-planning


def test_late_infusion_pushes_the_following_infusions() -> None:
    protocol = bundled("ucmsc-dlc")
    before = by_key(expand(protocol, "G1", DLC_DAY1))
    after = by_key(expand(protocol, "G1", DLC_DAY1, actual={VisitKey("INF", 2): D("2026-03-08")}))
    assert after[VisitKey("INF", 3)].target == D("2026-03-12")
    assert after[VisitKey("INF", 4)].target == D("2026-03-16")
    assert after[VisitKey("INF", 3)].window_start == D("2026-03-11")
    # The infusion itself keeps its planned date; what happened is the caller's record.
    assert after[VisitKey("INF", 2)] == before[VisitKey("INF", 2)]
    for key in before:
        if key.event != "INF" or key.occurrence < 3:
            assert after[key] == before[key], key


def test_moved_infusion_pushes_the_following_ones_only() -> None:
    protocol = bundled("ucmsc-dlc")
    before = by_key(expand(protocol, "G1", DLC_DAY1))
    after = by_key(expand(protocol, "G1", DLC_DAY1, moved={VisitKey("INF", 3): D("2026-03-09")}))
    assert after[VisitKey("INF", 3)].target == D("2026-03-09")
    assert after[VisitKey("INF", 4)].target == D("2026-03-13")
    changed = {key for key in before if after[key] != before[key]}
    assert changed == {VisitKey("INF", 3), VisitKey("INF", 4)}


def test_moved_week_24_moves_the_survival_calls() -> None:
    protocol = bundled("cs-huc-mscs")
    fu4 = VisitKey("FU", 4)
    before = by_key(expand(protocol, "MED", HUC_DAY1))
    after = by_key(expand(protocol, "MED", HUC_DAY1, moved={fu4: D("2026-10-08")}))
    moved = after[fu4]
    assert moved.target == D("2026-10-08")
    assert moved.ideal == D("2026-10-05")
    assert moved.study_day == 172
    # The moved visit's window stays where the protocol put it.
    assert (moved.window_start, moved.window_end) == (D("2026-09-28"), D("2026-10-12"))
    surv = [after[VisitKey("SURV", n)] for n in (1, 2, 3)]
    assert [o.target for o in surv] == [D("2027-04-08"), D("2027-10-08"), D("2028-04-08")]
    assert [o.window_start for o in surv] == [D("2027-03-25"), D("2027-09-24"), D("2028-03-25")]
    for key in before:
        if key.event != "SURV" and key != fu4:
            assert after[key] == before[key], key


def test_actual_date_wins_over_moved_date_as_anchor() -> None:
    fu4 = VisitKey("FU", 4)
    plan = expand(
        bundled("cs-huc-mscs"),
        "MED",
        HUC_DAY1,
        moved={fu4: D("2026-10-08")},
        actual={fu4: D("2026-10-09")},
    )
    assert dates(plan, "SURV") == ["2027-04-09", "2027-10-09", "2028-04-09"]
    assert by_key(plan)[fu4].target == D("2026-10-08")


def test_placer_chooses_targets_but_never_for_moved_visits() -> None:
    protocol = bundled("cs-huc-mscs")
    seen: list[VisitKey] = []

    def one_day_later(occurrence: Occurrence, earliest: date | None) -> date:
        seen.append(occurrence.key)
        return (
            occurrence.ideal + timedelta(days=1) if occurrence.event == "FU" else occurrence.ideal
        )

    fu2 = VisitKey("FU", 2)
    plan = by_key(
        expand(protocol, "MED", HUC_DAY1, moved={fu2: D("2026-06-16")}, place=one_day_later)
    )
    assert fu2 not in seen
    assert VisitKey("INF", 1) not in seen  # day 1 itself: the participant's anchor, never moved
    assert len(seen) == 12
    assert plan[VisitKey("FU", 4)].target == D("2026-10-06")
    assert plan[VisitKey("FU", 4)].window_start == D("2026-09-28")  # from the ideal date
    assert plan[VisitKey("SURV", 1)].target == D("2027-04-06")
    assert plan[VisitKey("INF", 1)].target == HUC_DAY1


# --------------------------------------------------------------------------- properties

MIN_DAY1, MAX_DAY1 = date(1990, 1, 1), date(2090, 12, 31)
ARMS = ("A", "B", "C")


def _sorted_unique(values: st.SearchStrategy[int], size: int) -> st.SearchStrategy[list[int]]:
    return st.lists(values, min_size=1, max_size=size, unique=True).map(sorted)


@st.composite
def timings(draw: st.DrawFn, anchor: str) -> dict[str, Any]:
    study = anchor != "occurrence"  # study days: no day 0
    day = st.integers(-60, 400).filter(lambda d: d != 0) if study else st.integers(-30, 400)
    rules = ["days", "weeks", "every"] + ([] if anchor == "previous" else ["months"])
    rule = draw(st.sampled_from(rules))
    if rule == "days":
        return {"days": draw(_sorted_unique(day, 8))}
    if rule == "weeks":
        return {"weeks": draw(_sorted_unique(st.integers(-4, 60), 6))}
    if rule == "months":
        return {"months": draw(_sorted_unique(st.integers(0, 36), 5))}
    timing: dict[str, Any] = {"every": draw(st.integers(1, 30)), "count": draw(st.integers(1, 8))}
    unit = draw(st.sampled_from([None, "days", "weeks"]))
    if unit is not None:
        timing["unit"] = unit
    start = draw(st.none() | day)
    if start is not None:
        timing["start"] = start
    return timing


def _size(timing: Mapping[str, Any]) -> int:
    if "every" in timing:
        return int(timing["count"])
    return len(next(timing[rule] for rule in ("days", "weeks", "months") if rule in timing))


@st.composite
def protocols(draw: st.DrawFn) -> dict[str, Any]:
    """A valid protocol: 1-3 arms, 1-6 series, anchored only on earlier series."""
    arm_codes = list(ARMS[: draw(st.integers(1, 3))])
    schedule: list[dict[str, Any]] = []
    for k in range(draw(st.integers(1, 6))):
        kinds = ["day1", "previous"] + (["occurrence"] if schedule else [])
        anchor_kind = draw(st.sampled_from(kinds))
        timing = draw(timings(anchor_kind))
        series: dict[str, Any] = {
            "code": f"S{k}",
            "label": f"Series {k}",
            "kind": draw(st.sampled_from(["visit", "infusion", "call"])),
            "timing": timing,
        }
        allowed = arm_codes
        if anchor_kind == "occurrence":
            target = draw(st.sampled_from(schedule))
            series["anchor"] = {
                "event": target["code"],
                "occurrence": draw(st.integers(1, _size(target["timing"]))),
            }
            allowed = target.get("arms", arm_codes)
        elif anchor_kind == "previous" or draw(st.booleans()):
            series["anchor"] = anchor_kind
        if allowed != arm_codes or draw(st.booleans()):
            series["arms"] = draw(st.lists(st.sampled_from(allowed), min_size=1, unique=True))
        window = draw(st.sampled_from(["none", "one", "each"]))
        if window == "one":
            series["window"] = draw(_windows())
        elif window == "each":
            series["windows"] = [draw(_windows()) for _ in range(_size(timing))]
        if draw(st.booleans()):
            series["time"] = f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
            if draw(st.booleans()):
                series["duration_minutes"] = draw(st.integers(1, 1440))
        series["survival"] = draw(st.booleans())
        schedule.append(series)
    return {
        "id": "generated",
        "title": "Generated",
        "arms": [{"code": code, "label": f"Arm {code}"} for code in arm_codes],
        "schedule": schedule,
    }


def _windows() -> st.SearchStrategy[dict[str, int]]:
    return st.fixed_dictionaries(
        {}, optional={"before": st.integers(0, 30), "after": st.integers(0, 30)}
    )


def _offset(series: Mapping[str, Any], index: int) -> int:
    """Days after the reference for day/week/every rules, following SPEC §3."""
    timing = series["timing"]
    study = _anchor_kind(series) != "occurrence"
    if "days" in timing:
        day = int(timing["days"][index])
        return day - 1 if study and day > 0 else day
    if "weeks" in timing:
        return 7 * int(timing["weeks"][index])
    step = int(timing["every"]) * (7 if timing.get("unit") == "weeks" else 1)
    start = int(timing.get("start", 1))
    first = start - 1 if study and start > 0 else start
    return first + step * index


def _anchor_kind(series: Mapping[str, Any]) -> str:
    anchor = series.get("anchor", "day1")
    return anchor if isinstance(anchor, str) else "occurrence"


def oracle(
    data: Mapping[str, Any],
    arm: str,
    day1: date,
    actual: Mapping[VisitKey, date],
    moved: Mapping[VisitKey, date],
) -> dict[VisitKey, tuple[date, date, VisitKey | None]]:
    """(ideal, target, anchor) per occurrence, written straight from SPEC §3-4.

    Generated series are anchored only on earlier ones, so file order is a
    valid order of computation.
    """
    result: dict[VisitKey, tuple[date, date, VisitKey | None]] = {}

    def anchor_date(key: VisitKey) -> date:
        return actual.get(key, result[key][1])

    for series in data["schedule"]:
        if arm not in series.get("arms", [arm]):
            continue
        kind, timing = _anchor_kind(series), series["timing"]
        for index in range(_size(timing)):
            key = VisitKey(series["code"], index + 1)
            anchor: VisitKey | None = None
            if kind == "occurrence":
                anchor = VisitKey(series["anchor"]["event"], series["anchor"]["occurrence"])
                reference = anchor_date(anchor)
            else:
                reference = day1
            if "months" in timing:
                ideal = _months_oracle(reference, int(timing["months"][index]))
            elif kind == "previous" and index > 0:
                anchor = VisitKey(series["code"], index)
                ideal = anchor_date(anchor) + timedelta(
                    days=_offset(series, index) - _offset(series, index - 1)
                )
            else:
                ideal = reference + timedelta(days=_offset(series, index))
            result[key] = (ideal, moved.get(key, ideal), anchor)
    return result


def dependents(data: Mapping[str, Any], arm: str, root: VisitKey) -> set[VisitKey]:
    """Every occurrence whose date is counted, directly or not, from ``root``."""
    found: set[VisitKey] = set()
    frontier = {root}
    while frontier:
        new: set[VisitKey] = set()
        for series in data["schedule"]:
            if arm not in series.get("arms", [arm]):
                continue
            code, kind = series["code"], _anchor_kind(series)
            keys = [VisitKey(code, n) for n in range(1, _size(series["timing"]) + 1)]
            for key in keys:
                if kind == "occurrence":
                    anchor = VisitKey(series["anchor"]["event"], series["anchor"]["occurrence"])
                    if anchor in frontier:
                        new.add(key)
                elif kind == "previous" and VisitKey(code, key.occurrence - 1) in frontier:
                    new.add(key)
        frontier = new - found
        found |= new
    return found


PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
day1s = st.dates(MIN_DAY1, MAX_DAY1)


@PROPERTY
@given(protocols(), day1s)
def test_generated_protocols_expand_as_specified(data: dict[str, Any], day1: date) -> None:
    protocol = validate(data, "generated")
    for arm in protocol.arm_codes():
        plan = expand(protocol, arm, day1)
        expected = oracle(data, arm, day1, {}, {})
        assert {o.key: (o.ideal, o.target, o.anchor) for o in plan} == expected
        assert len(plan) == len(expected)
        keys = [(o.target, o.time or time(0, 0), o.event, o.occurrence) for o in plan]
        assert keys == sorted(keys)
        for o in plan:
            series = next(s for s in protocol.series_for(arm) if s.code == o.event)
            window = series.window_for(o.occurrence)
            assert o.window_start <= o.target <= o.window_end
            assert o.window_start == o.target - timedelta(days=window.before)
            assert o.window_end == o.target + timedelta(days=window.after)
            assert o.study_day == study_day(day1, o.target) != 0
            assert o.count == series.timing.size
            assert (o.time, o.duration_minutes, o.survival) == (
                series.local_time,
                series.duration,
                series.survival,
            )


@PROPERTY
@given(protocols(), day1s, st.randoms(use_true_random=False))
def test_expansion_ignores_the_order_of_series(
    data: dict[str, Any], day1: date, rnd: random.Random
) -> None:
    shuffled = dict(data, schedule=rnd.sample(data["schedule"], len(data["schedule"])))
    protocol, other = validate(data), validate(shuffled)
    for arm in protocol.arm_codes():
        assert expand(other, arm, day1) == expand(protocol, arm, day1)


@PROPERTY
@given(protocols(), day1s, st.randoms(use_true_random=False))
def test_actual_dates_equal_to_targets_change_nothing(
    data: dict[str, Any], day1: date, rnd: random.Random
) -> None:
    protocol = validate(data)
    for arm in protocol.arm_codes():
        plan = expand(protocol, arm, day1)
        done = {o.key: o.target for o in plan if rnd.random() < 0.5}
        assert expand(protocol, arm, day1, actual=done) == plan
        assert expand(protocol, arm, day1, moved=done) == plan


@PROPERTY
@given(
    protocols(),
    day1s,
    st.randoms(use_true_random=False),
    st.integers(-20, 20).filter(bool),
    st.booleans(),
)
def test_a_changed_date_moves_only_what_depends_on_it(
    data: dict[str, Any], day1: date, rnd: random.Random, shift: int, as_actual: bool
) -> None:
    protocol = validate(data)
    # An arm may have no series at all (every series restricted to other arms).
    arm = rnd.choice([a for a in protocol.arm_codes() if protocol.series_for(a)])
    plan = by_key(expand(protocol, arm, day1))
    root = rnd.choice(sorted(plan))
    new_date = {root: plan[root].target + timedelta(days=shift)}
    actual, moved = (new_date, {}) if as_actual else ({}, new_date)
    replanned = by_key(expand(protocol, arm, day1, actual=actual, moved=moved))

    expected = oracle(data, arm, day1, actual, moved)
    assert {k: (o.ideal, o.target, o.anchor) for k, o in replanned.items()} == expected

    affected = dependents(data, arm, root)
    for key, occurrence in plan.items():
        if key == root:
            continue
        if key not in affected:
            assert replanned[key] == occurrence, key
        else:
            # Keeps its window around its own (new) ideal date.
            new = replanned[key]
            assert (
                new.window_end - new.window_start == occurrence.window_end - occurrence.window_start
            )
    # Nothing counted from day 1 moves (except the root itself).
    for series in data["schedule"]:
        if _anchor_kind(series) == "day1":
            for key in plan:
                if key.event == series["code"] and key != root:
                    assert replanned[key] == plan[key]
    # The root: moved → new target, same ideal and window; actual → its plan is unchanged.
    if as_actual:
        assert replanned[root] == plan[root]
    else:
        assert replanned[root].target == new_date[root]
        assert replanned[root].ideal == plan[root].ideal
        assert replanned[root].window_start == plan[root].window_start
        assert replanned[root].window_end == plan[root].window_end
