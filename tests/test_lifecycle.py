"""The visit lifecycle (SPEC §5): complete, move, miss, re-plan, withdraw, death.

Dates are checked exactly. The two bundled protocols give:

- ``ucmsc-dlc`` arm G1, day 1 = 2026-03-02: four infusions every 4 days, each
  counted from the previous infusion's actual date (window ±1); follow-ups in
  weeks 4, 12, 24, 36, 48 and a survival check 12 months after day 1, both
  counted from day 1.
- ``cs-huc-mscs`` arm MED, day 1 = 2026-04-20: infusions on days 1, 8, 15,
  in-hospital follow-ups on days 4, 11, 18, 22, follow-ups in weeks 4, 8, 12,
  24 (all from day 1), survival calls 6, 12 and 18 months after the week-24
  follow-up (FU/4).

Command-line tests run on the real clock, so they only use dates well in the
past; API tests use the fixed clock of ``conftest.NOW`` (2026-11-22 08:30 UTC).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from planner.app import Planner
from planner.core.errors import InputError
from tests.conftest import dump

Cli = Callable[..., Any]
Plan = dict[str, dict[str, Any]]

G1_DAY1 = date(2026, 3, 2)
MED_DAY1 = date(2026, 4, 20)

#: Every visit of WUH-001 (ucmsc-dlc G1, day 1 2026-03-02) as enrolled:
#: visit id -> (target, window start, window end).
G1_PLAN = {
    "WUH-001/INF/1": ("2026-03-02", "2026-03-01", "2026-03-03"),
    "WUH-001/INF/2": ("2026-03-06", "2026-03-05", "2026-03-07"),
    "WUH-001/INF/3": ("2026-03-10", "2026-03-09", "2026-03-11"),
    "WUH-001/INF/4": ("2026-03-14", "2026-03-13", "2026-03-15"),
    "WUH-001/FU/1": ("2026-03-30", "2026-03-27", "2026-04-02"),
    "WUH-001/FU/2": ("2026-05-25", "2026-05-18", "2026-06-01"),
    "WUH-001/FU/3": ("2026-08-17", "2026-08-10", "2026-08-24"),
    "WUH-001/FU/4": ("2026-11-09", "2026-11-02", "2026-11-16"),
    "WUH-001/FU/5": ("2027-02-01", "2027-01-25", "2027-02-08"),
    "WUH-001/SURV/1": ("2027-03-02", "2027-02-16", "2027-03-16"),
}

#: Every visit of WUH-002 (cs-huc-mscs MED, day 1 2026-04-20) as enrolled.
MED_PLAN = {
    "WUH-002/INF/1": ("2026-04-20", "2026-04-19", "2026-04-21"),
    "WUH-002/IHFU/1": ("2026-04-23", "2026-04-22", "2026-04-24"),
    "WUH-002/INF/2": ("2026-04-27", "2026-04-26", "2026-04-28"),
    "WUH-002/IHFU/2": ("2026-04-30", "2026-04-29", "2026-05-01"),
    "WUH-002/INF/3": ("2026-05-04", "2026-05-03", "2026-05-05"),
    "WUH-002/IHFU/3": ("2026-05-07", "2026-05-06", "2026-05-08"),
    "WUH-002/IHFU/4": ("2026-05-11", "2026-05-10", "2026-05-12"),
    "WUH-002/FU/1": ("2026-05-18", "2026-05-15", "2026-05-21"),
    "WUH-002/FU/2": ("2026-06-15", "2026-06-10", "2026-06-20"),
    "WUH-002/FU/3": ("2026-07-13", "2026-07-06", "2026-07-20"),
    "WUH-002/FU/4": ("2026-10-05", "2026-09-28", "2026-10-12"),
    "WUH-002/SURV/1": ("2027-04-05", "2027-03-22", "2027-04-19"),
    "WUH-002/SURV/2": ("2027-10-05", "2027-09-21", "2027-10-19"),
    "WUH-002/SURV/3": ("2028-04-05", "2028-03-22", "2028-04-19"),
}

G1_SURVIVAL = {"WUH-001/SURV/1"}
MED_SURVIVAL = {"WUH-002/SURV/1", "WUH-002/SURV/2", "WUH-002/SURV/3"}


# ------------------------------------------------------------------ helpers


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result


def assert_refused(result: Any, code: int, *fragments: str) -> str:
    """One line on stderr, starting ``planner: error:``, the exit code, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line: str = lines[0]
    assert line.startswith("planner: error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def cli_schedule(cli: Cli, participant: str) -> Plan:
    rows = json.loads(ok(cli("schedule", participant, "--format", "json")).stdout)
    return {row["visit_id"]: row for row in rows}


def api_schedule(planner: Planner, participant: str) -> Plan:
    return {r.visit_id: r.to_json() for r in planner.schedule(participant)}


def enroll_cli(cli: Cli, participant: str, protocol: str, arm: str, day1: date) -> Plan:
    if "WUH" not in ok(cli("site", "list")).stdout:
        ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(
        cli(
            "enroll",
            participant,
            "--protocol",
            protocol,
            "--arm",
            arm,
            "--site",
            "WUH",
            "--day1",
            day1.isoformat(),
        )
    )
    return cli_schedule(cli, participant)


def enroll_api(planner: Planner, participant: str, protocol: str, arm: str, day1: date) -> Plan:
    if not any(site.code == "WUH" for site in planner.sites()):
        planner.add_site("WUH", "Asia/Shanghai")
    planner.enroll(participant, protocol, arm, "WUH", day1)
    return api_schedule(planner, participant)


def dates_of(plan: Plan) -> dict[str, tuple[str, str, str]]:
    return {vid: (v["target"], v["window_start"], v["window_end"]) for vid, v in plan.items()}


def assert_unchanged(before: Plan, after: Plan, ids: set[str]) -> None:
    """These visits are exactly as they were (every key, revision included)."""
    for vid in ids:
        assert after[vid] == before[vid], vid


def changed_ids(before: Plan, after: Plan) -> set[str]:
    return {vid for vid in after if after[vid] != before[vid]}


# ------------------------------------------------ enrolment (the baseline)


def test_enrolment_plans_every_visit_at_revision_zero(planner: Planner) -> None:
    g1 = enroll_api(planner, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    med = enroll_api(planner, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    assert dates_of(g1) == G1_PLAN
    assert dates_of(med) == MED_PLAN
    for visit in [*g1.values(), *med.values()]:
        assert (visit["status"], visit["revision"], visit["actual"], visit["deviation"]) == (
            "scheduled",
            0,
            None,
            False,
        )


# ------------------------------------- a late infusion (ucmsc-dlc, group 1)


def test_late_infusion_replans_the_later_infusions_only(cli: Cli) -> None:
    enrolled = enroll_cli(cli, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    ok(cli("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"))
    out = ok(cli("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-08")).stdout
    assert out.splitlines()[0] == "WUH-001/INF/2 completed"

    now = cli_schedule(cli, "WUH-001")
    inf1, inf2, inf3, inf4 = (now[f"WUH-001/INF/{n}"] for n in (1, 2, 3, 4))
    assert (inf1["status"], inf1["actual"], inf1["deviation"], inf1["revision"]) == (
        "completed",
        "2026-03-02",
        False,
        1,
    )
    # INF/2 was planned for 03-06 (window 03-05..03-07): two days late.
    assert (inf2["target"], inf2["window_start"], inf2["window_end"]) == (
        "2026-03-06",
        "2026-03-05",
        "2026-03-07",
    )
    assert (inf2["status"], inf2["actual"], inf2["deviation"], inf2["revision"]) == (
        "completed",
        "2026-03-08",
        True,
        1,
    )
    # Every 4 days from the previous infusion's actual date.
    assert (inf3["target"], inf3["window_start"], inf3["window_end"], inf3["revision"]) == (
        "2026-03-12",
        "2026-03-11",
        "2026-03-13",
        1,
    )
    assert (inf4["target"], inf4["window_start"], inf4["window_end"], inf4["revision"]) == (
        "2026-03-16",
        "2026-03-15",
        "2026-03-17",
        1,
    )
    assert inf3["status"] == inf4["status"] == "scheduled"
    assert inf3["study_day"] == 11 and inf4["study_day"] == 15
    # Follow-ups and the survival check count from day 1: untouched.
    untouched = {vid for vid in G1_PLAN if "/INF/" not in vid}
    assert_unchanged(enrolled, now, untouched)
    assert all(now[vid]["revision"] == 0 for vid in untouched)
    assert changed_ids(enrolled, now) == {f"WUH-001/INF/{n}" for n in (1, 2, 3, 4)}


def test_late_infusion_is_listed_as_a_deviation(cli: Cli) -> None:
    enroll_cli(cli, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    ok(cli("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"))
    ok(cli("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-08"))

    table = ok(cli("deviations")).stdout.splitlines()
    # header, INF/2 (INF/1, on time, is not there), the flag's legend, the count
    assert len(table) == 4, table
    assert table[2:] == ["! = done or moved outside its window (a protocol deviation)",
                         "1 visit, 1 participant"]  # fmt: skip
    assert "WUH-001/INF/2" in table[1]
    assert "2026-03-08" in table[1]

    rows = json.loads(ok(cli("deviations", "--format", "json")).stdout)
    assert [(r["visit_id"], r["deviation"], r["actual"]) for r in rows] == [
        ("WUH-001/INF/2", True, "2026-03-08")
    ]
    schedule = cli_schedule(cli, "WUH-001")
    assert [vid for vid, v in schedule.items() if v["deviation"]] == ["WUH-001/INF/2"]


def test_completing_inside_the_window_is_no_deviation(planner: Planner) -> None:
    enroll_api(planner, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    planner.complete("WUH-001/INF/1", date(2026, 3, 3))  # the last day of its window
    now = api_schedule(planner, "WUH-001")
    assert now["WUH-001/INF/1"]["deviation"] is False
    assert planner.deviations() == []
    # One day late moves all three later infusions by one day.
    assert [now[f"WUH-001/INF/{n}"]["target"] for n in (2, 3, 4)] == [
        "2026-03-07",
        "2026-03-11",
        "2026-03-15",
    ]


# ----------------------------------------------- transitive re-planning


def _g1_late_second_infusion(planner: Planner) -> Plan:
    enroll_api(planner, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    planner.complete("WUH-001/INF/1", date(2026, 3, 2))
    planner.complete("WUH-001/INF/2", date(2026, 3, 8))
    return api_schedule(planner, "WUH-001")


def test_completing_on_the_new_target_moves_nothing_more(planner: Planner) -> None:
    before = _g1_late_second_infusion(planner)
    assert before["WUH-001/INF/3"]["target"] == "2026-03-12"
    planner.complete("WUH-001/INF/3", date(2026, 3, 12))
    after = api_schedule(planner, "WUH-001")
    assert changed_ids(before, after) == {"WUH-001/INF/3"}
    inf3 = after["WUH-001/INF/3"]
    assert (inf3["status"], inf3["actual"], inf3["deviation"], inf3["revision"]) == (
        "completed",
        "2026-03-12",
        False,
        2,
    )
    assert after["WUH-001/INF/4"]["target"] == "2026-03-16"
    assert after["WUH-001/INF/4"]["revision"] == 1


def test_moving_a_replanned_infusion_moves_the_next_one_only(planner: Planner) -> None:
    before = _g1_late_second_infusion(planner)
    planner.move("WUH-001/INF/3", date(2026, 3, 13), reason="no bed")
    after = api_schedule(planner, "WUH-001")
    assert changed_ids(before, after) == {"WUH-001/INF/3", "WUH-001/INF/4"}
    inf3, inf4 = after["WUH-001/INF/3"], after["WUH-001/INF/4"]
    # A moved visit keeps the window the protocol gives it.
    assert (inf3["target"], inf3["window_start"], inf3["window_end"]) == (
        "2026-03-13",
        "2026-03-11",
        "2026-03-13",
    )
    assert (inf3["status"], inf3["deviation"], inf3["revision"]) == ("scheduled", False, 2)
    assert (inf4["target"], inf4["window_start"], inf4["window_end"]) == (
        "2026-03-17",
        "2026-03-16",
        "2026-03-18",
    )
    assert (inf4["status"], inf4["revision"]) == ("scheduled", 2)


def test_a_late_first_infusion_moves_the_whole_chain(planner: Planner) -> None:
    before = enroll_api(planner, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    planner.complete("WUH-001/INF/1", date(2026, 3, 5))
    after = api_schedule(planner, "WUH-001")
    assert changed_ids(before, after) == {f"WUH-001/INF/{n}" for n in (1, 2, 3, 4)}
    assert [after[f"WUH-001/INF/{n}"]["target"] for n in (2, 3, 4)] == [
        "2026-03-09",
        "2026-03-13",
        "2026-03-17",
    ]
    assert [after[f"WUH-001/INF/{n}"]["revision"] for n in (1, 2, 3, 4)] == [1, 1, 1, 1]
    assert after["WUH-001/INF/1"]["deviation"] is True


# ------------------------------ moving the week-24 follow-up (cs-huc-mscs)


def test_moving_week_24_moves_the_survival_calls(cli: Cli) -> None:
    enrolled = enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    out = ok(
        cli("visit", "move", "WUH-002/FU/4", "--to", "2026-10-08", "--reason", "travel")
    ).stdout
    assert out.splitlines()[0] == "WUH-002/FU/4 moved"
    now = cli_schedule(cli, "WUH-002")
    fu4 = now["WUH-002/FU/4"]
    assert (fu4["target"], fu4["window_start"], fu4["window_end"]) == (
        "2026-10-08",
        "2026-09-28",
        "2026-10-12",
    )
    assert (fu4["status"], fu4["deviation"], fu4["revision"], fu4["study_day"]) == (
        "scheduled",
        False,
        1,
        172,
    )
    assert {vid: dates_of(now)[vid] for vid in MED_SURVIVAL} == {
        "WUH-002/SURV/1": ("2027-04-08", "2027-03-25", "2027-04-22"),
        "WUH-002/SURV/2": ("2027-10-08", "2027-09-24", "2027-10-22"),
        "WUH-002/SURV/3": ("2028-04-08", "2028-03-25", "2028-04-22"),
    }
    assert all(now[vid]["revision"] == 1 for vid in MED_SURVIVAL)
    assert all(now[vid]["status"] == "scheduled" for vid in MED_SURVIVAL)
    assert changed_ids(enrolled, now) == {"WUH-002/FU/4"} | MED_SURVIVAL
    assert all(now[vid]["revision"] == 0 for vid in set(now) - {"WUH-002/FU/4"} - MED_SURVIVAL)


def test_moving_outside_the_window_needs_force(cli: Cli, db_path: Path) -> None:
    enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    before = dump(db_path)
    assert_refused(
        cli("visit", "move", "WUH-002/FU/4", "--to", "2026-10-13"),
        2,
        "WUH-002/FU/4",
        "2026-09-28 to 2026-10-12",
        "--force",
    )
    assert dump(db_path) == before
    assert_refused(
        cli("visit", "move", "WUH-002/FU/4", "--to", "2026-09-27", "--reason", "x"),
        2,
        "2026-09-28 to 2026-10-12",
    )
    assert dump(db_path) == before


def test_forced_move_outside_the_window_is_a_deviation(cli: Cli) -> None:
    enrolled = enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    ok(cli("visit", "move", "WUH-002/FU/4", "--to", "2026-10-20", "--force", "--reason", "ICU"))
    now = cli_schedule(cli, "WUH-002")
    fu4 = now["WUH-002/FU/4"]
    assert (fu4["target"], fu4["window_start"], fu4["window_end"]) == (
        "2026-10-20",
        "2026-09-28",
        "2026-10-12",
    )
    assert (fu4["status"], fu4["deviation"], fu4["revision"]) == ("scheduled", True, 1)
    assert [now[vid]["target"] for vid in sorted(MED_SURVIVAL)] == [
        "2027-04-20",
        "2027-10-20",
        "2028-04-20",
    ]
    assert changed_ids(enrolled, now) == {"WUH-002/FU/4"} | MED_SURVIVAL
    rows = json.loads(ok(cli("deviations", "--format", "json")).stdout)
    assert [(r["visit_id"], r["deviation"], r["target"]) for r in rows] == [
        ("WUH-002/FU/4", True, "2026-10-20")
    ]


def test_moving_an_infusion_anchored_on_day_1_moves_nothing_else(cli: Cli) -> None:
    enrolled = enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    ok(cli("visit", "move", "WUH-002/INF/2", "--to", "2026-04-28"))
    now = cli_schedule(cli, "WUH-002")
    assert changed_ids(enrolled, now) == {"WUH-002/INF/2"}
    inf2 = now["WUH-002/INF/2"]
    assert (inf2["target"], inf2["window_start"], inf2["window_end"], inf2["revision"]) == (
        "2026-04-28",
        "2026-04-26",
        "2026-04-28",
        1,
    )


def test_a_late_week_24_visit_moves_the_survival_calls(planner: Planner) -> None:
    enrolled = enroll_api(planner, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    planner.complete("WUH-002/FU/4", date(2026, 10, 9))
    now = api_schedule(planner, "WUH-002")
    assert changed_ids(enrolled, now) == {"WUH-002/FU/4"} | MED_SURVIVAL
    assert [now[vid]["target"] for vid in sorted(MED_SURVIVAL)] == [
        "2027-04-09",
        "2027-10-09",
        "2028-04-09",
    ]
    assert now["WUH-002/FU/4"]["deviation"] is False  # 10-09 is inside 09-28..10-12


def test_moving_back_to_the_same_day_is_refused(cli: Cli, db_path: Path) -> None:
    enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    before = dump(db_path)
    assert_refused(cli("visit", "move", "WUH-002/FU/4", "--to", "2026-10-05"), 2, "already planned")
    assert dump(db_path) == before


def test_a_moved_then_missed_visit_keeps_anchoring_its_dependants(planner: Planner) -> None:
    """SPEC §4: an anchor that never happened uses its *current* target date.

    FU/4 is moved to 10-08 (the survival calls follow), then recorded as
    missed. Completing INF/1 on its planned day changes no date, so it must
    not move anything; the survival calls must stay counted from 10-08.
    """
    enroll_api(planner, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    planner.move("WUH-002/FU/4", date(2026, 10, 8), reason="travel")
    planner.miss("WUH-002/FU/4")
    before = api_schedule(planner, "WUH-002")
    planner.complete("WUH-002/INF/1", date(2026, 4, 20))
    after = api_schedule(planner, "WUH-002")
    assert [after[vid]["target"] for vid in sorted(MED_SURVIVAL)] == [
        "2027-04-08",
        "2027-10-08",
        "2028-04-08",
    ]
    assert changed_ids(before, after) == {"WUH-002/INF/1"}


def test_a_moved_then_cancelled_visit_keeps_anchoring_kept_survival_calls(
    planner: Planner,
) -> None:
    """Withdrawal cancels FU/4 (moved to 10-08) and keeps the survival calls.

    Recording afterwards that INF/2 happened on its planned day must not pull
    the survival calls back to the protocol's 10-05.
    """
    enroll_api(planner, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    planner.move("WUH-002/FU/4", date(2026, 10, 8), reason="travel")
    planner.withdraw("WUH-002", date(2026, 9, 1), reason="moved away")
    before = api_schedule(planner, "WUH-002")
    assert before["WUH-002/FU/4"]["status"] == "cancelled"
    planner.complete("WUH-002/INF/2", date(2026, 4, 27))
    after = api_schedule(planner, "WUH-002")
    assert [after[vid]["target"] for vid in sorted(MED_SURVIVAL)] == [
        "2027-04-08",
        "2027-10-08",
        "2028-04-08",
    ]
    assert changed_ids(before, after) == {"WUH-002/INF/2"}


def test_a_missed_anchor_counts_from_its_own_target(planner: Planner) -> None:
    """INF/2 (target 03-06) is missed; INF/3 counts from INF/2's current target.

    Recording afterwards that INF/1 happened a day late moves nothing: INF/2
    is missed and stays on 03-06, so INF/3 stays 4 days later, on 03-10.
    """
    enroll_api(planner, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    planner.miss("WUH-001/INF/2")
    before = api_schedule(planner, "WUH-001")
    planner.complete("WUH-001/INF/1", date(2026, 3, 3))
    after = api_schedule(planner, "WUH-001")
    assert after["WUH-001/INF/2"]["target"] == "2026-03-06"
    assert [after[f"WUH-001/INF/{n}"]["target"] for n in (3, 4)] == ["2026-03-10", "2026-03-14"]
    assert changed_ids(before, after) == {"WUH-001/INF/1"}


# ---------------------------- completed, missed, cancelled: final states


def test_completed_missed_and_cancelled_visits_never_move(planner: Planner) -> None:
    enroll_api(planner, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    planner.complete("WUH-001/INF/1", date(2026, 3, 2))
    # Withdrawn on 03-07: INF/3, INF/4 and the follow-ups are cancelled.
    assert planner.withdraw("WUH-001", date(2026, 3, 7)).cancelled == 7
    before = api_schedule(planner, "WUH-001")
    # INF/2 then turns out to have happened a day late, on the withdrawal day
    # (not after it: see test_no_visit_is_moved_or_completed_past_the_end_...).
    planner.complete("WUH-001/INF/2", date(2026, 3, 7))
    after = api_schedule(planner, "WUH-001")
    assert changed_ids(before, after) == {"WUH-001/INF/2"}
    for n, target in ((3, "2026-03-10"), (4, "2026-03-14")):
        visit = after[f"WUH-001/INF/{n}"]
        assert (visit["status"], visit["target"], visit["revision"]) == ("cancelled", target, 1)


def test_a_completed_visit_does_not_move_when_its_anchor_moves(planner: Planner) -> None:
    enroll_api(planner, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    planner.complete("WUH-001/INF/1", date(2026, 3, 2))
    planner.complete("WUH-001/INF/3", date(2026, 3, 10))  # recorded before INF/2
    before = api_schedule(planner, "WUH-001")
    planner.move("WUH-001/INF/2", date(2026, 3, 7))
    after = api_schedule(planner, "WUH-001")
    assert changed_ids(before, after) == {"WUH-001/INF/2"}
    assert after["WUH-001/INF/3"]["target"] == "2026-03-10"
    assert after["WUH-001/INF/4"]["target"] == "2026-03-14"  # from INF/3's actual date


def test_a_missed_visit_does_not_move(planner: Planner) -> None:
    enroll_api(planner, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    planner.miss("WUH-001/INF/2")
    before = api_schedule(planner, "WUH-001")
    assert (before["WUH-001/INF/2"]["status"], before["WUH-001/INF/2"]["revision"]) == (
        "missed",
        1,
    )
    planner.complete("WUH-001/INF/1", date(2026, 3, 2))
    after = api_schedule(planner, "WUH-001")
    assert changed_ids(before, after) == {"WUH-001/INF/1"}


def _final_states(cli: Cli) -> None:
    """WUH-002 with INF/1 completed, IHFU/1 missed, FU/3 cancelled."""
    enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    ok(cli("visit", "complete", "WUH-002/INF/1", "--on", "2026-04-20"))
    ok(cli("visit", "miss", "WUH-002/IHFU/1"))
    ok(cli("participant", "withdraw", "WUH-002", "--on", "2026-06-15"))


FINAL = {
    "completed": ("WUH-002/INF/1", "2026-04-21", "is completed on 2026-04-20"),
    "missed": ("WUH-002/IHFU/1", "2026-04-24", "is missed"),
    "cancelled": ("WUH-002/FU/3", "2026-07-14", "is cancelled"),
}


@pytest.mark.parametrize("command", ["complete", "move", "miss"])
@pytest.mark.parametrize("status", ["completed", "missed", "cancelled"])
def test_only_scheduled_visits_can_change(
    cli: Cli, db_path: Path, status: str, command: str
) -> None:
    _final_states(cli)
    vid, day, says = FINAL[status]
    assert cli_schedule(cli, "WUH-002")[vid]["status"] == status
    args = {
        "complete": ["--on", day],
        "move": ["--to", day, "--reason", "again"],
        "miss": [],
    }[command]
    before = dump(db_path)
    assert_refused(
        cli("visit", command, vid, *args),
        2,
        f"{vid} {says}",
        "only scheduled visits can change",
    )
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["visit", "complete", "WUH-002/INF/9", "--on", "2026-04-20"], "unknown visit"),
        (["visit", "move", "NOPE-1/INF/1", "--to", "2026-04-20"], "unknown visit"),
        (["visit", "miss", "WUH-002-INF-1"], "is not of the form PARTICIPANT/EVENT/N"),
        (["visit", "complete", "WUH-002/INF/1", "--on", "2026-02-30"], "2026-02-30"),
        (["participant", "withdraw", "NOPE-1", "--on", "2026-05-01"], "unknown participant"),
        (["participant", "died", "NOPE-1", "--on", "2026-05-01"], "unknown participant"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    cli: Cli, db_path: Path, args: list[str], says: str
) -> None:
    enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    before = dump(db_path)
    assert_refused(cli(*args), 2, says)
    assert dump(db_path) == before


# ------------------------------------------------ dates that are refused


def test_completing_in_the_future_is_refused(cli: Cli, db_path: Path) -> None:
    enroll_cli(cli, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    before = dump(db_path)
    later = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2)).isoformat()
    assert_refused(
        cli("visit", "complete", "WUH-001/FU/5", "--on", later),
        2,
        f"cannot complete WUH-001/FU/5 on {later}",
        "in the future",
    )
    assert dump(db_path) == before


def test_the_future_starts_tomorrow_in_the_sites_zone(planner: Planner, db_path: Path) -> None:
    enroll_api(planner, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    # NOW is 2026-11-22 08:30 UTC, 16:30 in Shanghai.
    with pytest.raises(
        InputError, match=r"2026-11-23: that is in the future \(today is 2026-11-22"
    ):
        planner.complete("WUH-001/FU/4", date(2026, 11, 23))
    planner.complete("WUH-001/FU/4", date(2026, 11, 22))  # today: allowed (late: a deviation)
    fu4 = api_schedule(planner, "WUH-001")["WUH-001/FU/4"]
    assert (fu4["status"], fu4["actual"], fu4["deviation"]) == ("completed", "2026-11-22", True)

    # At 20:00 UTC it is already 11-23 in Shanghai but still 11-22 in Los Angeles.
    evening = datetime(2026, 11, 22, 20, 0)
    with Planner(str(db_path), actor="tester", clock=lambda: evening) as late:
        late.add_site("LAX", "America/Los_Angeles")
        late.enroll("LAX-001", "ucmsc-dlc", "G1", "LAX", G1_DAY1)
        late.complete("WUH-001/FU/5", date(2026, 11, 23))
        with pytest.raises(InputError, match=r"in the future \(today is 2026-11-22\)"):
            late.complete("LAX-001/FU/5", date(2026, 11, 23))
        assert {r.visit_id: r.status for r in late.schedule("LAX-001")}["LAX-001/FU/5"] == (
            "scheduled"
        )


def test_completing_before_the_previous_occurrence_is_refused(cli: Cli, db_path: Path) -> None:
    enroll_cli(cli, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    ok(cli("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-03"))
    before = dump(db_path)
    assert_refused(
        cli("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-02"),
        2,
        "cannot complete WUH-001/INF/2 on 2026-03-02",
        "2026-03-03",
    )
    assert dump(db_path) == before
    # The same rule looks past a missed occurrence to the last completed one.
    ok(cli("visit", "miss", "WUH-001/INF/2"))
    before = dump(db_path)
    assert_refused(cli("visit", "complete", "WUH-001/INF/3", "--on", "2026-03-01"), 2, "2026-03-03")
    assert dump(db_path) == before
    ok(cli("visit", "complete", "WUH-001/INF/3", "--on", "2026-03-03"))  # the same day is fine


# ------------------------------------------------------------- revisions


def test_revision_rises_exactly_when_a_visit_changes(planner: Planner) -> None:
    """Revision is the iCalendar SEQUENCE: +1 on each change, never otherwise."""
    enroll_api(planner, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    steps: list[Callable[[], object]] = [
        lambda: planner.complete("WUH-002/INF/1", date(2026, 4, 20)),
        lambda: planner.complete("WUH-002/IHFU/1", date(2026, 4, 24)),
        lambda: planner.miss("WUH-002/INF/2"),
        lambda: planner.move("WUH-002/FU/4", date(2026, 10, 8)),
        lambda: planner.move("WUH-002/FU/4", date(2026, 10, 10)),
        lambda: planner.move("WUH-002/SURV/1", date(2027, 4, 15)),
        lambda: planner.complete("WUH-002/FU/4", date(2026, 10, 11)),
        lambda: planner.withdraw("WUH-002", date(2026, 11, 1), survival="cancel"),
    ]
    state = api_schedule(planner, "WUH-002")
    fields = ("target", "window_start", "window_end", "status", "actual", "deviation")
    for step in steps:
        step()
        new = api_schedule(planner, "WUH-002")
        for vid, visit in new.items():
            old = state[vid]
            changed = any(visit[f] != old[f] for f in fields)
            assert visit["revision"] == old["revision"] + (1 if changed else 0), vid
        state = new
    revisions = {vid: v["revision"] for vid, v in state.items() if v["revision"]}
    assert revisions == {
        "WUH-002/INF/1": 1,
        "WUH-002/IHFU/1": 1,
        "WUH-002/INF/2": 1,
        "WUH-002/FU/4": 3,  # moved, moved, completed
        "WUH-002/SURV/1": 5,  # replan, replan, moved, replan (window), cancelled
        "WUH-002/SURV/2": 4,  # replan x3, cancelled
        "WUH-002/SURV/3": 4,
    }
    surv1 = state["WUH-002/SURV/1"]
    assert (surv1["target"], surv1["window_start"], surv1["window_end"]) == (
        "2027-04-15",
        "2027-03-28",
        "2027-04-25",
    )
    assert [state[v]["target"] for v in ("WUH-002/SURV/2", "WUH-002/SURV/3")] == [
        "2027-10-11",
        "2028-04-11",
    ]


# ---------------------------------------------------------------- withdraw


def test_withdraw_cancels_later_visits_and_keeps_survival(cli: Cli) -> None:
    enrolled = enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    out = ok(
        cli("participant", "withdraw", "WUH-002", "--on", "2026-06-15", "--reason", "consent")
    ).stdout
    assert out.strip() == "WUH-002 withdrawn on 2026-06-15; 2 later visits cancelled"
    now = cli_schedule(cli, "WUH-002")
    assert set(now) == set(MED_PLAN)  # cancelled visits are not deleted
    cancelled = {vid for vid, v in now.items() if v["status"] == "cancelled"}
    assert cancelled == {"WUH-002/FU/3", "WUH-002/FU/4"}
    for vid in cancelled:
        assert now[vid]["revision"] == 1
        assert dates_of(now)[vid] == MED_PLAN[vid]
    # FU/2 falls on the withdrawal date itself: kept.
    assert now["WUH-002/FU/2"]["status"] == "scheduled"
    assert_unchanged(enrolled, now, set(MED_PLAN) - cancelled)


@pytest.mark.parametrize(
    ("flag", "cancelled_survival"),
    [(None, False), ("--keep-survival", False), ("--cancel-survival", True)],
)
def test_withdraw_survival_choice(cli: Cli, flag: str | None, cancelled_survival: bool) -> None:
    enroll_cli(cli, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    args = ["participant", "withdraw", "WUH-001", "--on", "2026-05-25"]
    out = ok(cli(*args, *([flag] if flag else []))).stdout
    count = 4 if cancelled_survival else 3
    assert out.strip() == f"WUH-001 withdrawn on 2026-05-25; {count} later visits cancelled"
    now = cli_schedule(cli, "WUH-001")
    later = {"WUH-001/FU/3", "WUH-001/FU/4", "WUH-001/FU/5"}
    expected = later | (G1_SURVIVAL if cancelled_survival else set())
    assert {vid for vid, v in now.items() if v["status"] == "cancelled"} == expected
    assert {vid for vid, v in now.items() if v["revision"]} == expected
    assert now["WUH-001/SURV/1"]["status"] == ("cancelled" if cancelled_survival else "scheduled")


def test_withdraw_twice_is_refused(cli: Cli, db_path: Path) -> None:
    enroll_cli(cli, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    ok(cli("participant", "withdraw", "WUH-001", "--on", "2026-05-25"))
    before = dump(db_path)
    assert_refused(
        cli("participant", "withdraw", "WUH-001", "--on", "2026-06-01"),
        2,
        "WUH-001",
        "already withdrawn",
    )
    assert dump(db_path) == before


# ------------------------------------------------------------------- death


def test_death_cancels_every_later_visit_including_survival_calls(cli: Cli) -> None:
    enrolled = enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    ok(cli("visit", "complete", "WUH-002/INF/1", "--on", "2026-04-20"))
    out = ok(cli("participant", "died", "WUH-002", "--on", "2026-06-15")).stdout
    assert out.strip() == "WUH-002 died on 2026-06-15; 5 later visits cancelled"
    now = cli_schedule(cli, "WUH-002")
    later = {"WUH-002/FU/3", "WUH-002/FU/4"} | MED_SURVIVAL
    assert {vid for vid, v in now.items() if v["status"] == "cancelled"} == later
    assert all(now[vid]["revision"] == 1 for vid in later)
    assert all(dates_of(now)[vid] == MED_PLAN[vid] for vid in later)
    earlier = set(MED_PLAN) - later - {"WUH-002/INF/1"}
    assert_unchanged(enrolled, now, earlier)
    assert all(now[vid]["status"] == "scheduled" for vid in earlier)  # FU/2 on the day: kept


def test_death_after_withdrawal_cancels_the_kept_survival_calls(cli: Cli) -> None:
    enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    ok(cli("participant", "withdraw", "WUH-002", "--on", "2026-06-15"))
    kept = cli_schedule(cli, "WUH-002")
    assert all(kept[vid]["status"] == "scheduled" for vid in MED_SURVIVAL)
    out = ok(cli("participant", "died", "WUH-002", "--on", "2026-08-01")).stdout
    assert out.strip() == "WUH-002 died on 2026-08-01; 3 later visits cancelled"
    now = cli_schedule(cli, "WUH-002")
    assert all(now[vid]["status"] == "cancelled" for vid in MED_SURVIVAL)
    assert all(now[vid]["revision"] == 1 for vid in MED_SURVIVAL)


def test_no_visit_is_moved_or_completed_past_the_end_of_participation(
    cli: Cli, db_path: Path
) -> None:
    """After a withdrawal only the visits it kept (survival calls) go on past
    its date; after a death nothing does (``visit add`` already said so)."""
    enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    ok(cli("participant", "withdraw", "WUH-002", "--on", "2026-06-15"))
    before = dump(db_path)
    # FU/2 falls on the withdrawal date: kept, but not beyond it.
    assert_refused(cli("visit", "move", "WUH-002/FU/2", "--to", "2026-06-16", "--force"), 2,
                   "cannot move WUH-002/FU/2 to 2026-06-16", "withdrawn on 2026-06-15")  # fmt: skip
    assert_refused(cli("visit", "complete", "WUH-002/FU/2", "--on", "2026-06-17"), 2,
                   "withdrawn on 2026-06-15")  # fmt: skip
    assert dump(db_path) == before
    ok(cli("visit", "complete", "WUH-002/FU/2", "--on", "2026-06-15"))
    ok(cli("visit", "move", "WUH-002/SURV/1", "--to", "2027-04-06"))  # kept: goes on
    ok(cli("participant", "died", "WUH-002", "--on", "2026-08-01"))
    ok(cli("visit", "add", "WUH-002", "--on", "2026-07-01", "--label", "AE"))
    before = dump(db_path)
    assert_refused(cli("visit", "move", "WUH-002/UNS/1", "--to", "2026-08-02"), 2,
                   "died on 2026-08-01")  # fmt: skip
    assert_refused(cli("visit", "complete", "WUH-002/UNS/1", "--on", "2026-08-02"), 2,
                   "died on 2026-08-01")  # fmt: skip
    assert dump(db_path) == before


def test_an_unscheduled_visit_moves_with_its_day_and_never_deviates(cli: Cli) -> None:
    """It is outside the protocol: moving or completing it on another day is
    no protocol deviation, and needs no --force."""
    enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    ok(cli("visit", "add", "WUH-002", "--on", "2026-05-10", "--label", "AE review"))
    ok(cli("visit", "move", "WUH-002/UNS/1", "--to", "2026-05-11"))
    moved = cli_schedule(cli, "WUH-002")["WUH-002/UNS/1"]
    assert (moved["target"], moved["window_start"], moved["window_end"], moved["deviation"]) == (
        "2026-05-11", "2026-05-11", "2026-05-11", False)  # fmt: skip
    ok(cli("visit", "complete", "WUH-002/UNS/1", "--on", "2026-05-12"))
    done = cli_schedule(cli, "WUH-002")["WUH-002/UNS/1"]
    assert (done["status"], done["actual"], done["deviation"]) == ("completed", "2026-05-12", False)
    assert "WUH-002/UNS/1" not in ok(cli("deviations")).stdout
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")


def test_an_ending_dated_before_a_completion_is_refused(cli: Cli, db_path: Path) -> None:
    """A death (or withdrawal) dated before a visit recorded as done
    contradicts the record: undo the completion first if it was wrong."""
    enroll_cli(cli, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    ok(cli("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"))
    ok(cli("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-08"))
    before = dump(db_path)
    for command in ("died", "withdraw"):
        assert_refused(cli("participant", command, "WUH-001", "--on", "2026-03-05"), 2,
                       "cannot end WUH-001's participation on 2026-03-05",
                       "WUH-001/INF/2 was completed after it, on 2026-03-08")  # fmt: skip
    assert dump(db_path) == before
    ok(cli("participant", "died", "WUH-001", "--on", "2026-03-08"))  # the same day: possible


def test_a_withdrawal_before_a_kept_survival_call_is_recorded(cli: Cli) -> None:
    """Survival follow-up goes on after a withdrawal: a call already made
    after the withdrawal date does not contradict it."""
    enroll_cli(cli, "WUH-001", "ucmsc-dlc", "G1", date(2025, 3, 3))
    surv = cli_schedule(cli, "WUH-001")["WUH-001/SURV/1"]["target"]
    ok(cli("visit", "complete", "WUH-001/SURV/1", "--on", surv))
    ok(cli("participant", "withdraw", "WUH-001", "--on", "2025-06-01"))
    assert_refused(cli("participant", "died", "WUH-001", "--on", "2025-07-01"), 2,
                   f"WUH-001/SURV/1 was completed after it, on {surv}")  # fmt: skip


def test_nothing_is_recorded_before_day_1_unless_its_window_opens_earlier(
    cli: Cli, db_path: Path
) -> None:
    enroll_cli(cli, "WUH-001", "ucmsc-dlc", "G1", G1_DAY1)
    before = dump(db_path)
    assert_refused(cli("visit", "complete", "WUH-001/INF/2", "--on", "2026-02-01"), 2,
                   "cannot complete WUH-001/INF/2 on 2026-02-01: that is before "
                   "WUH-001's day 1 (2026-03-02)")  # fmt: skip
    assert_refused(cli("visit", "move", "WUH-001/FU/1", "--to", "2026-03-01", "--force"), 2,
                   "cannot move WUH-001/FU/1 to 2026-03-01: that is before")  # fmt: skip
    assert dump(db_path) == before
    # INF/1's window opens the day before day 1: that day is possible.
    ok(cli("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-01"))


def test_a_screening_visit_may_be_early_as_any_visit_may_be_late(cli: Cli, tmp_path: Path) -> None:
    """A visit planned before day 1 (screening) recorded before its window:
    a deviation, recorded as such, not refused."""
    from tests.test_protocol import _documented_example

    source = tmp_path / "example.toml"
    source.write_text(_documented_example(), encoding="utf-8")
    ok(cli("site", "add", "W", "--timezone", "UTC"))
    ok(cli("protocol", "add", str(source)))
    ok(cli("enroll", "L2", "--protocol", "example-trial", "--arm", "CTRL", "--site", "W",
           "--day1", "2026-03-02"))  # fmt: skip
    done = ok(cli("visit", "complete", "L2/SCR/1", "--on", "2026-02-05")).stdout
    assert "L2/SCR/1 is outside its window: a protocol deviation" in done
    ok(cli("visit", "move", "L2/SCR/2", "--to", "2026-02-06", "--force"))


def test_death_in_the_future_is_refused(cli: Cli, db_path: Path, planner: Planner) -> None:
    enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    before = dump(db_path)
    later = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2)).isoformat()
    assert_refused(cli("participant", "died", "WUH-002", "--on", later), 2, later, "in the future")
    assert dump(db_path) == before
    with pytest.raises(InputError, match=r"2026-11-23 is in the future \(today is 2026-11-22\)"):
        planner.died("WUH-002", date(2026, 11, 23))
    assert dump(db_path) == before


def test_death_recorded_twice_is_refused(cli: Cli, db_path: Path) -> None:
    enroll_cli(cli, "WUH-002", "cs-huc-mscs", "MED", MED_DAY1)
    ok(cli("participant", "died", "WUH-002", "--on", "2026-06-15"))
    before = dump(db_path)
    assert_refused(
        cli("participant", "died", "WUH-002", "--on", "2026-06-16"), 2, "already recorded as died"
    )
    assert_refused(
        cli("participant", "withdraw", "WUH-002", "--on", "2026-06-16"),
        2,
        "already recorded as died",
    )
    assert dump(db_path) == before
