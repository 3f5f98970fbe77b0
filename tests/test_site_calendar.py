"""Site calendars: closed weekdays, public holidays, closing dates, capacity."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.core.bundled import bundled
from planner.core.errors import InputError
from planner.core.protocol import parse
from planner.core.schedule import expand
from planner.core.sitedays import Closure, SiteCalendar, check_holidays, parse_weekdays
from tests.conftest import CliResult, dump

Cli = Callable[..., CliResult]

# Day 1 is Monday 2026-06-01, so study day 6 is Saturday 06-06 and day 7 Sunday.
CALENDAR_PROTOCOL = """
id = "cal-test"
title = "Site calendar test"

[[arms]]
code = "A"
label = "Arm A"

[[schedule]]
code = "SYM"
label = "Symmetric window"
kind = "visit"
window = { before = 2, after = 2 }
timing = { days = [6] }

[[schedule]]
code = "LATE"
label = "Later side only"
kind = "visit"
window = { before = 0, after = 3 }
timing = { days = [6] }

[[schedule]]
code = "ZERO"
label = "No window"
kind = "visit"
timing = { days = [6] }

[[schedule]]
code = "INF"
label = "Infusion"
kind = "infusion"
setting = "inpatient"
timing = { days = [7] }

[[schedule]]
code = "DEP"
label = "Counted from LATE"
kind = "visit"
window = { before = 2, after = 2 }
timing = { days = [14] }
anchor = { event = "LATE", occurrence = 1 }

[[schedule]]
code = "HOL"
label = "Around National Day"
kind = "visit"
window = { before = 0, after = 7 }
timing = { days = [123] }
"""


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    return result


def schedule(cli: Cli, participant: str) -> dict[str, dict[str, Any]]:
    rows = json.loads(ok(cli("schedule", participant, "--format", "json")).stdout)
    return {row["visit_id"].split("/", 1)[1]: row for row in rows}


@pytest.fixture
def weekend_site(cli: Cli, tmp_path: Path) -> Cli:
    protocol = tmp_path / "cal.toml"
    protocol.write_text(CALENDAR_PROTOCOL)
    ok(cli("protocol", "add", str(protocol)))
    ok(cli("site", "add", "BER", "--timezone", "Europe/Berlin", "--closed", "sat,sun"))
    ok(cli("enroll", "B-1", "--protocol", "cal-test", "--arm", "A", "--site", "BER",
           "--day1", "2026-06-01"))  # fmt: skip
    return cli


def test_closed_saturday_moves_to_friday_or_monday_or_stays(weekend_site: Cli) -> None:
    visits = schedule(weekend_site, "B-1")
    # ideal Saturday; Friday (1 day earlier) is nearer than Monday (2 days later)
    assert (visits["SYM/1"]["ideal"], visits["SYM/1"]["target"]) == ("2026-06-06", "2026-06-05")
    # only the later side of the window exists: Monday
    assert (visits["LATE/1"]["ideal"], visits["LATE/1"]["target"]) == ("2026-06-06", "2026-06-08")
    # a zero-day window has no open day: it stays, and is a conflict
    assert (visits["ZERO/1"]["ideal"], visits["ZERO/1"]["target"]) == ("2026-06-06", "2026-06-06")
    # an in-hospital infusion on a Sunday is never moved
    assert (visits["INF/1"]["ideal"], visits["INF/1"]["target"]) == ("2026-06-07", "2026-06-07")
    # 14 days after LATE's planned date (Monday 06-08): an open Monday
    assert (visits["DEP/1"]["ideal"], visits["DEP/1"]["target"]) == ("2026-06-22", "2026-06-22")
    # windows stay around the ideal date
    assert (visits["SYM/1"]["window_start"], visits["SYM/1"]["window_end"]) == (
        "2026-06-04",
        "2026-06-08",
    )
    # study_day follows the planned date
    assert visits["SYM/1"]["study_day"] == 5

    conflicts = json.loads(ok(weekend_site("conflicts", "--format", "json")).stdout)
    assert [(c["visit_id"], c["closed"]) for c in conflicts] == [
        ("B-1/ZERO/1", "closed on Saturdays")
    ]
    table = ok(weekend_site("conflicts", "--site", "BER")).stdout
    assert "B-1/ZERO/1" in table and "INF" not in table


def test_a_new_closing_date_replans_and_later_replans_respect_it(
    weekend_site: Cli, db_path: Path
) -> None:
    before = schedule(weekend_site, "B-1")
    assert before["DEP/1"]["target"] == "2026-06-22"
    out = ok(weekend_site("site", "close", "BER", "2026-06-22", "--to", "2026-06-23",
                          "--reason", "audit visit")).stdout  # fmt: skip
    assert out == "site BER closed 2026-06-22 to 2026-06-23; 1 visit re-planned\n"
    after = schedule(weekend_site, "B-1")
    # 06-22/23 closed, 06-20/21 weekend: the nearest open day in [06-20, 06-24] is 06-24
    assert after["DEP/1"]["target"] == "2026-06-24"
    assert after["DEP/1"]["revision"] == before["DEP/1"]["revision"] + 1
    unchanged = {k: v for k, v in after.items() if k != "DEP/1"}
    assert unchanged == {k: v for k, v in before.items() if k != "DEP/1"}

    audit = json.loads(ok(weekend_site("audit", "B-1", "--format", "json")).stdout)
    replans = [a for a in audit if a["action"] == "replan"]
    assert len(replans) == 1
    assert replans[0]["visit"] == "B-1/DEP/1"
    assert replans[0]["before"]["target"] == "2026-06-22"
    assert replans[0]["after"]["target"] == "2026-06-24"
    assert "closed 2026-06-22 to 2026-06-23: audit visit" in replans[0]["reason"]

    # Moving the anchor re-plans DEP, still stepping off closed days:
    # LATE on Tuesday 06-09 -> DEP ideally 06-23 (closed) -> 06-24.
    ok(weekend_site("visit", "move", "B-1/LATE/1", "--to", "2026-06-09"))
    dep = schedule(weekend_site, "B-1")["DEP/1"]
    assert (dep["ideal"], dep["target"]) == ("2026-06-23", "2026-06-24")
    # LATE done on Saturday 06-06 -> DEP ideally Saturday 06-20 -> Friday 06-19.
    ok(weekend_site("visit", "complete", "B-1/LATE/1", "--on", "2026-06-06"))
    dep = schedule(weekend_site, "B-1")["DEP/1"]
    assert (dep["ideal"], dep["target"]) == ("2026-06-20", "2026-06-19")


def test_cn_holidays_move_a_visit_out_of_national_day(cli: Cli, tmp_path: Path) -> None:
    protocol = tmp_path / "cal.toml"
    protocol.write_text(CALENDAR_PROTOCOL)
    ok(cli("protocol", "add", str(protocol)))
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", "--holidays", "CN"))
    ok(cli("site", "add", "WUW", "--timezone", "Asia/Shanghai", "--holidays", "cn",
           "--closed", "sat,sun"))  # fmt: skip
    # HOL is study day 123: with day 1 = 2026-06-01 that is 2026-10-01, National Day.
    ok(cli("enroll", "C-1", "--protocol", "cal-test", "--arm", "A", "--site", "WUH",
           "--day1", "2026-06-01"))  # fmt: skip
    ok(cli("enroll", "C-2", "--protocol", "cal-test", "--arm", "A", "--site", "WUW",
           "--day1", "2026-06-01"))  # fmt: skip
    hol = schedule(cli, "C-1")["HOL/1"]
    # holidays 10-01..10-03; 10-04 (a Sunday) is no holiday and the site opens on Sundays
    assert (hol["ideal"], hol["target"]) == ("2026-10-01", "2026-10-04")
    hol = schedule(cli, "C-2")["HOL/1"]
    # closed at weekends too: 10-05..10-07 are holidays as well, 10-08 is open
    assert (hol["ideal"], hol["target"]) == ("2026-10-01", "2026-10-08")
    shown = ok(cli("site", "show", "WUW", "--from", "2026-09-28", "--months", "1")).stdout
    assert "Public holidays: CN" in shown
    assert "2026-10-01 Thu  public holiday: National Day" in shown
    assert "every sat,sun" in shown


def test_capacity_reports_overbooked_days_with_their_visits(cli: Cli) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("site", "capacity", "WUH", "--kind", "infusion", "--per-day", "2"))
    for code in ("W-1", "W-2", "W-3"):
        ok(cli("enroll", code, "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
               "--day1", "2026-04-20"))  # fmt: skip
    ok(cli("enroll", "W-4", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
           "--day1", "2026-04-21"))  # fmt: skip
    report = json.loads(
        ok(
            cli(
                "capacity",
                "--site",
                "WUH",
                "--from",
                "2026-04-01",
                "--days",
                "60",
                "--format",
                "json",
            )
        ).stdout
    )
    assert [(r["date"], r["kind"], r["count"], r["per_day"]) for r in report] == [
        ("2026-04-20", "infusion", 3, 2),
        ("2026-04-27", "infusion", 3, 2),
        ("2026-05-04", "infusion", 3, 2),
    ]
    assert report[0]["visits"] == ["W-1/INF/1", "W-2/INF/1", "W-3/INF/1"]
    table = ok(cli("capacity", "--site", "WUH", "--from", "2026-04-01", "--days", "60")).stdout
    assert "2026-04-20  WUH   infusion  3/2     W-1/INF/1 W-2/INF/1 W-3/INF/1" in table
    # reported, not enforced; a completed infusion no longer counts
    ok(cli("visit", "complete", "W-3/INF/1", "--on", "2026-04-20"))
    report = json.loads(
        ok(
            cli(
                "capacity",
                "--site",
                "WUH",
                "--from",
                "2026-04-20",
                "--days",
                "1",
                "--format",
                "json",
            )
        ).stdout
    )
    assert report == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("site", "add", "X", "--timezone", "UTC", "--closed", "sat,funday"), "'funday'"),
        (("site", "add", "X", "--timezone", "UTC", "--closed", "mon,tue,wed,thu,fri,sat,sun"),
         "every day of the week"),
        (("site", "add", "X", "--timezone", "UTC", "--holidays", "XX"), "unknown public holidays"),
        (("site", "add", "X", "--timezone", "UTC", "--holidays", "US-ZZ"),
         "unknown public holidays"),
        (("site", "close", "NOPE", "2026-06-01"), "unknown site 'NOPE'"),
        (("site", "close", "BER", "2026-06-05", "--to", "2026-06-01"), "is before"),
        (("site", "capacity", "BER", "--kind", "infusion", "--per-day", "-1"), "between 0"),
    ],
)  # fmt: skip
def test_site_calendar_errors(cli: Cli, db_path: Path, args: tuple[str, ...], message: str) -> None:
    ok(cli("site", "add", "BER", "--timezone", "Europe/Berlin"))
    before = dump(db_path)
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert dump(db_path) == before


# --------------------------------------------------------------- the pure part


def test_nearest_open_prefers_the_earlier_day_on_a_tie() -> None:
    calendar = SiteCalendar(frozenset({2}))  # closed on Wednesdays
    wednesday = date(2026, 6, 3)
    assert calendar.nearest_open(wednesday, date(2026, 6, 1), date(2026, 6, 5)) == date(2026, 6, 2)
    assert calendar.nearest_open(wednesday, wednesday, date(2026, 6, 5)) == date(2026, 6, 4)
    assert calendar.nearest_open(wednesday, wednesday, wednesday) is None


def test_closures_and_reasons() -> None:
    calendar = SiteCalendar(closures=(Closure(date(2026, 7, 1), date(2026, 7, 3), "move"),))
    assert calendar.closed_reason(date(2026, 7, 2)) == "move"
    assert calendar.is_open(date(2026, 7, 4))
    assert not calendar.always_open
    assert SiteCalendar().always_open


@pytest.mark.parametrize("first", ["2027-01-28", "2027-01-27"])
def test_closing_a_closed_day_again_gives_it_the_new_reason(cli: Cli, first: str) -> None:
    """The site calendar showed the first reason for the same day closed twice
    (while the audit trail had both) and the second for a range starting
    earlier: the latest closing of a day says why it is closed."""
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("site", "close", "WUH", first, "--to", "2027-01-28", "--reason", "staff training"))
    ok(cli("site", "close", "WUH", "2027-01-28", "--reason", "power cut"))
    shown = ok(cli("site", "show", "WUH", "--from", "2027-01-01", "--months", "1")).stdout
    assert "2027-01-28 Thu  power cut" in shown
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")


def test_weekday_and_holiday_parsing() -> None:
    assert parse_weekdays("sat, Sunday") == frozenset({5, 6})
    assert parse_weekdays("") == frozenset()
    with pytest.raises(InputError, match="'satur'"):
        parse_weekdays("satur")
    assert check_holidays("us-ny") == "US-NY"
    assert check_holidays("CN") == "CN"


@pytest.mark.parametrize("closed", [None, "sun"])
def test_a_visit_moved_by_hand_pushes_no_day_1_visit(cli: Cli, closed: str | None) -> None:
    """Week-4 follow-up moved by a coordinator onto week 8's day (a Monday, open):
    week 8 stays, at a site closed on Sundays as at one that never closes.
    (Only a day the calendar chose keeps the next one after it.)"""
    ok(
        cli(
            "site",
            "add",
            "WUH",
            "--timezone",
            "Asia/Shanghai",
            *(["--closed", closed] if closed else []),
        )
    )
    ok(cli("enroll", "P1", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
           "--day1", "2026-06-01"))  # fmt: skip
    moved = ok(cli("visit", "move", "P1/FU/1", "--to", "2026-07-27", "--force")).stdout
    assert "re-planned" not in moved
    rows = {
        r["visit_id"]: r for r in json.loads(ok(cli("schedule", "P1", "--format", "json")).stdout)
    }
    assert (rows["P1/FU/1"]["target"], rows["P1/FU/2"]["target"]) == ("2026-07-27", "2026-07-27")


def test_a_cancelled_visit_pushes_nothing_on_a_rebaseline(cli: Cli) -> None:
    """Withdrawn (week 24 cancelled), then moved to version 2, where week 24 is
    FU/5: the survival calls counted from it do not move, at a site closed on
    Sundays as at one that never closes."""
    v2 = Path(__file__).parent / "fixtures" / "amendments" / "cs-huc-mscs-v2.toml"
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", "--closed", "sun"))
    ok(cli("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
           "--day1", "2026-06-01"))  # fmt: skip
    ok(cli("participant", "withdraw", "WUH-001", "--on", "2026-06-20"))
    ok(cli("protocol", "add", str(v2)))
    done = ok(cli("participant", "rebaseline", "WUH-001", "--protocol", "cs-huc-mscs",
                  "--to-version", "2", "--reason", "a1"))  # fmt: skip
    assert done.stdout.splitlines()[1:] == ["  no visit changes"]


DAY1_PROTOCOL = """
id = "day1-test"
title = "Day 1 on a closed day"

[[arms]]
code = "A"
label = "A"

[[schedule]]
code = "INF"
label = "Infusion"
kind = "infusion"
setting = "outpatient"
window = { before = 2, after = 2 }
timing = { every = 7, count = 3, start = 1 }
anchor = "previous"

[[schedule]]
code = "CHK"
label = "Check"
kind = "visit"
window = { before = 3, after = 3 }
timing = { days = [2] }
"""


def test_nothing_planned_from_day_1_on_is_placed_before_day_1(cli: Cli, tmp_path: Path) -> None:
    """Day 1 on a day the site is closed: the first infusion stays on day 1 (a
    conflict to fix by hand, not a first treatment moved before the study
    starts), and a day-2 visit whose window reaches back before day 1 is placed
    from day 1 on (it was put on Friday, study day -1)."""
    protocol = tmp_path / "day1.toml"
    protocol.write_text(DAY1_PROTOCOL)
    ok(cli("protocol", "add", str(protocol)))
    ok(cli("site", "add", "BER", "--timezone", "Europe/Berlin", "--closed", "sat,sun,mon"))
    ok(
        cli(
            "enroll",
            "B-1",
            "--protocol",
            "day1-test",
            "--arm",
            "A",
            "--site",
            "BER",
            "--day1",
            "2026-03-07",
        )
    )  # fmt: skip  (a Saturday)
    visits = schedule(cli, "B-1")
    assert (visits["INF/1"]["target"], visits["INF/1"]["study_day"]) == ("2026-03-07", 1)
    # CHK: ideal Sunday 03-08 (day 2), window 03-05..03-11; Friday 03-06 and Tuesday
    # 03-10 are as near: the earlier wins a tie, but Friday is before day 1
    assert (visits["CHK/1"]["target"], visits["CHK/1"]["study_day"]) == ("2026-03-10", 4)
    assert all(v["study_day"] >= 1 for v in visits.values())
    conflicts = json.loads(ok(cli("conflicts", "--format", "json")).stdout)
    assert "B-1/INF/1" in [c["visit_id"] for c in conflicts]


BUNDLED_ARMS = [("ucmsc-dlc", "G1"), ("ucmsc-dlc", "G2"), ("ucmsc-dlc", "CTRL"),
                ("cs-huc-mscs", "LOW"), ("cs-huc-mscs", "HIGH"), ("day1-test", "A")]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    day1=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    closed=st.frozensets(st.integers(0, 6), max_size=6),
    protocol_arm=st.sampled_from(BUNDLED_ARMS),
)
def test_no_visit_planned_from_day_1_on_is_placed_before_it(
    day1: date, closed: frozenset[int], protocol_arm: tuple[str, str]
) -> None:
    calendar = SiteCalendar(closed)
    protocol_id, arm = protocol_arm
    protocol = parse(DAY1_PROTOCOL, "day1") if protocol_id == "day1-test" else bundled(protocol_id)
    for occurrence in expand(protocol, arm, day1, place=calendar.place):
        if occurrence.ideal >= day1:
            assert occurrence.target >= day1, occurrence
        if occurrence.ideal == day1:
            assert occurrence.target == day1, occurrence
