"""Corrections, unscheduled visits and saying what changed (issue 12, items 3-6),
through the real command line.

ucmsc-dlc arm G1, day 1 on Monday 2026-03-02: INF/1-4 every 4 days, each
counted from the previous one's actual date (window ±1): 03-02, 03-06, 03-10,
03-14.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump
from tests.parsers import ical_spans, vobject_spans

Cli = Callable[..., Any]


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result


def refused(result: Any, *fragments: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    line: str = result.stderr.strip()
    assert len(result.stderr.splitlines()) == 1 and line.startswith("planner: error: ")
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def plan(cli: Cli, participant: str = "WUH-001") -> dict[str, dict[str, Any]]:
    rows = json.loads(ok(cli("schedule", participant, "--format", "json")).stdout)
    return {row["visit_id"]: row for row in rows}


def shape(visits: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """What a coordinator sees of each visit: dates, status, actual, deviation."""
    keys = ("ideal", "target", "window_start", "window_end", "status", "actual", "deviation")
    return {vid: tuple(v[k] for k in keys) for vid, v in visits.items()}


def audit(cli: Cli, participant: str = "WUH-001") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(
        ok(cli("audit", participant, "--format", "json")).stdout
    )
    return rows


@pytest.fixture
def g1(cli: Cli) -> Cli:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    enroll = ["enroll", "WUH-001", "--protocol", "ucmsc-dlc", "--arm", "G1"]
    ok(cli(*enroll, "--site", "WUH", "--day1", "2026-03-02"))
    return cli


def test_a_late_completion_says_what_it_replanned(g1: Cli) -> None:
    ok(g1("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"))
    done = ok(g1("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-08"))
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "WUH-001/INF/2 completed",
        "WUH-001/INF/2 is outside its window: a protocol deviation",
        "re-planned 2 visits:",
        "  WUH-001/INF/3  2026-03-10 → 2026-03-12",
    ]
    assert lines[4] == "  WUH-001/INF/4  2026-03-14 → 2026-03-16"


def test_undo_returns_to_exactly_where_the_mistake_started(g1: Cli) -> None:
    ok(g1("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"))
    before = plan(g1)
    ok(g1("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-08"))  # wrong date
    trail = len(audit(g1))
    undone = ok(g1("visit", "undo", "WUH-001/INF/2", "--reason", "wrong date"))
    assert undone.stdout.splitlines()[:4] == [
        "WUH-001/INF/2 is scheduled again",
        "re-planned 2 visits:",
        "  WUH-001/INF/3  2026-03-12 → 2026-03-10",
        "  WUH-001/INF/4  2026-03-16 → 2026-03-14",
    ]
    after = plan(g1)
    assert shape(after) == shape(before)
    # Revisions rose (calendars learn of it): INF/2 twice, INF/3 and INF/4 twice.
    assert [after[f"WUH-001/INF/{n}"]["revision"] for n in (2, 3, 4)] == [2, 2, 2]
    rows = audit(g1)[trail:]
    assert [(r["action"], r["visit"], r["reason"]) for r in rows] == [
        ("undo", "WUH-001/INF/2", "wrong date"),
        ("replan", "WUH-001/INF/3", "wrong date"),
        ("replan", "WUH-001/INF/4", "wrong date"),
    ]
    assert rows[0]["before"]["status"] == "completed"
    assert rows[0]["after"] == {"status": "scheduled", "actual": None, "deviation": False,
                                "revision": 2}  # fmt: skip
    # And the right date now goes in as if the mistake never happened.
    ok(g1("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-06"))
    assert plan(g1)["WUH-001/INF/3"]["target"] == "2026-03-10"


def test_undo_a_miss(g1: Cli) -> None:
    before = shape(plan(g1))
    ok(g1("visit", "miss", "WUH-001/INF/1", "--reason", "fever"))
    assert plan(g1)["WUH-001/INF/1"]["status"] == "missed"
    assert audit(g1)[-1]["reason"] == "fever"
    ok(g1("visit", "undo", "WUH-001/INF/1", "--reason", "she came after all"))
    assert shape(plan(g1)) == before


def test_undo_with_a_stale_revision_changes_nothing(g1: Cli, db_path: Path) -> None:
    from tests.conftest import dump

    ok(g1("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-03"))
    seen = plan(g1)["WUH-001/INF/1"]["revision"]
    ok(g1("visit", "undo", "WUH-001/INF/1", "--reason", "wrong day"))
    ok(g1("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"))
    before = dump(db_path)
    result = g1("visit", "undo", "WUH-001/INF/1", "--reason", "x", "--revision", str(seen))
    assert result.exit_code == 1  # as for complete, move and miss: not bad input, new data
    assert result.stderr.startswith("planner: error: WUH-001/INF/1 changed since you read it")
    assert f"you saw {seen})" in result.stderr and len(result.stderr.splitlines()) == 1
    assert dump(db_path) == before
    now = plan(g1)["WUH-001/INF/1"]["revision"]
    ok(g1("visit", "undo", "WUH-001/INF/1", "--reason", "x", "--revision", str(now)))
    assert plan(g1)["WUH-001/INF/1"]["status"] == "scheduled"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("visit", "undo", "WUH-001/INF/3", "--reason", "x"), ("is scheduled", "undone")),
        (("visit", "undo", "WUH-001/NOPE/1", "--reason", "x"), ("unknown visit",)),
        (("visit", "undo", "WUH-001/INF/3", "--reason", "  "), ("reason",)),
        (("participant", "reinstate", "WUH-001", "--reason", "x"), ("on study",)),
        (("participant", "reinstate", "NOPE-1", "--reason", "x"), ("unknown participant",)),
    ],
)
def test_corrections_that_make_no_sense_are_refused(
    g1: Cli, db_path: Path, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    from tests.conftest import dump

    before = dump(db_path)
    refused(g1(*args), *fragments)
    assert dump(db_path) == before


def test_undo_needs_a_reason(g1: Cli) -> None:
    result = g1("visit", "undo", "WUH-001/INF/1")
    assert result.exit_code == 2
    assert "--reason" in result.stderr


def test_reinstating_a_withdrawal_brings_back_exactly_what_it_cancelled(g1: Cli) -> None:
    ok(g1("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"))
    before = plan(g1)
    withdrawn = ok(g1("participant", "withdraw", "WUH-001", "--on", "2026-03-07"))
    assert "later visits cancelled" in withdrawn.stdout
    cancelled = {v for v, row in plan(g1).items() if row["status"] == "cancelled"}
    assert "WUH-001/INF/3" in cancelled
    back = ok(g1("participant", "reinstate", "WUH-001", "--reason", "wrong participant"))
    assert back.stdout.startswith(f"WUH-001 reinstated; {len(cancelled)} cancelled visits")
    assert shape(plan(g1)) == shape(before)
    participants = json.loads(ok(g1("participants", "--format", "json")).stdout)
    assert [(p["participant"], p["status"]) for p in participants] == [("WUH-001", "on-study")]
    actions = [r["action"] for r in audit(g1)]
    assert actions.count("reinstate") == len(cancelled) + 1  # each visit, and the participant


def test_reinstating_a_death_after_a_withdrawal_returns_to_withdrawn(g1: Cli) -> None:
    ok(g1("participant", "withdraw", "WUH-001", "--on", "2026-03-03"))
    withdrawn = shape(plan(g1))
    ok(g1("participant", "died", "WUH-001", "--on", "2026-05-01", "--reason", "liver failure"))
    assert audit(g1)[-1]["reason"] == "liver failure"
    ok(g1("participant", "reinstate", "WUH-001", "--reason", "another patient's record"))
    assert shape(plan(g1)) == withdrawn
    participants = json.loads(ok(g1("participants", "--format", "json")).stdout)
    assert (participants[0]["status"], participants[0]["status_date"]) == (
        "withdrawn",
        "2026-03-03",
    )


def test_both_endings_can_be_reinstated_newest_first(g1: Cli) -> None:
    """A death recorded after a withdrawal, both in error: the second
    reinstatement undoes the withdrawal (it once found the reinstated death
    again, changed nothing and said it had)."""
    on_study = shape(plan(g1))
    ok(g1("participant", "withdraw", "WUH-001", "--on", "2026-03-03"))
    ok(g1("participant", "died", "WUH-001", "--on", "2026-05-01"))
    ok(g1("participant", "reinstate", "WUH-001", "--reason", "not this participant's death"))
    back = ok(g1("participant", "reinstate", "WUH-001", "--reason", "withdrawal entered in error"))
    assert not back.stdout.startswith("WUH-001 reinstated; 0 cancelled"), back.stdout
    assert shape(plan(g1)) == on_study
    participants = json.loads(ok(g1("participants", "--format", "json")).stdout)
    assert participants[0]["status"] == "on-study"
    refused(g1("participant", "reinstate", "WUH-001", "--reason", "again"), "is on study")
    # And a withdrawal after a reinstatement is the one a reinstatement undoes.
    ok(g1("participant", "withdraw", "WUH-001", "--on", "2026-03-10"))
    ok(g1("participant", "reinstate", "WUH-001", "--reason", "wrong date"))
    assert shape(plan(g1)) == on_study


def test_unscheduled_visits_are_numbered_listed_completed_and_exported(
    g1: Cli, tmp_path: Path
) -> None:
    added = ok(g1("visit", "add", "WUH-001", "--on", "2026-03-20", "--label", "Blood test"))
    assert added.stdout.startswith("WUH-001/UNS/1 added on 2026-03-20\n")
    ok(g1("visit", "add", "WUH-001", "--on", "2026-03-21", "--label", "Scan", "--time", "09:30"))
    visits = plan(g1)
    first, second = visits["WUH-001/UNS/1"], visits["WUH-001/UNS/2"]
    assert (first["label"], first["kind"], first["target"], first["window_start"],
            first["window_end"], first["status"]) == (
        "Blood test", "visit", "2026-03-20", "2026-03-20", "2026-03-20", "scheduled"
    )  # fmt: skip
    assert second["time"] == "09:30"
    # Never re-planned: a late infusion moves infusions, not the added visit.
    ok(g1("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-03"))
    assert plan(g1)["WUH-001/UNS/1"]["target"] == "2026-03-20"
    ok(g1("visit", "complete", "WUH-001/UNS/1", "--on", "2026-03-20"))
    upcoming = json.loads(
        ok(g1("upcoming", "--from", "2026-03-21", "--days", "1", "--format", "json")).stdout
    )
    assert [v["visit_id"] for v in upcoming] == ["WUH-001/UNS/2"]
    assert ("add", "WUH-001/UNS/1") in [(r["action"], r["visit"]) for r in audit(g1)]
    out = tmp_path / "w.ics"
    ok(g1("export", "ics", "--participant", "WUH-001", "--output", str(out)))
    data = out.read_bytes()
    assert b"Unscheduled visit 2" in data
    assert b"Blood test" not in data and b"Scan" not in data  # free text stays out
    assert len(vobject_spans(data)) == len(ical_spans(data)) == len(visits)
    uid = first["uid"]
    ok(g1("visit", "add", "WUH-001", "--on", "2026-03-22", "--label", "Again"))
    assert plan(g1)["WUH-001/UNS/1"]["uid"] == uid  # stable


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--on", "2026-03-20", "--label", ""), ("label",)),
        (("--on", "2026-03-20", "--label", "x", "--kind", "Bad Kind"), ("kind",)),
        (("--on", "2026-03-20", "--label", "x", "--time", "25:00"), ("time",)),
    ],
)
def test_bad_unscheduled_visits_are_refused(
    g1: Cli, db_path: Path, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    from tests.conftest import dump

    before = dump(db_path)
    refused(g1("visit", "add", "WUH-001", *args), *fragments)
    assert dump(db_path) == before


def test_no_unscheduled_visit_after_a_death(g1: Cli) -> None:
    ok(g1("participant", "died", "WUH-001", "--on", "2026-03-15"))
    refused(
        g1("visit", "add", "WUH-001", "--on", "2026-03-20", "--label", "x"),
        "died on 2026-03-15",
    )
    ok(g1("visit", "add", "WUH-001", "--on", "2026-03-14", "--label", "last visit"))


def test_an_unscheduled_visit_entered_late_is_completed_on_its_own_day(g1: Cli) -> None:
    """Unscheduled visits are each their own: one added (and completed) after
    another may have happened before it. A series keeps its order."""
    ok(g1("visit", "add", "WUH-001", "--on", "2026-03-20", "--label", "AE follow-up"))
    ok(g1("visit", "complete", "WUH-001/UNS/1", "--on", "2026-03-20"))
    ok(g1("visit", "add", "WUH-001", "--on", "2026-03-16", "--label", "AE onset"))
    ok(g1("visit", "complete", "WUH-001/UNS/2", "--on", "2026-03-16"))
    visits = plan(g1)
    assert [(visits[f"WUH-001/UNS/{n}"]["actual"], visits[f"WUH-001/UNS/{n}"]["deviation"])
            for n in (1, 2)] == [("2026-03-20", False), ("2026-03-16", False)]  # fmt: skip
    ok(g1("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-06"))
    refused(
        g1("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-05"),
        "the previous INF visit was completed later, on 2026-03-06",
    )


def test_a_move_onto_a_closed_day_warns_but_proceeds(g1: Cli) -> None:
    ok(g1("site", "close", "WUH", "2026-03-11", "--reason", "inspection"))
    moved = ok(g1("visit", "move", "WUH-001/INF/3", "--to", "2026-03-11"))
    assert moved.stderr == (
        "planner: warning: WUH-001/INF/3 is now on 2026-03-11, a closed day at its site "
        "(inspection)\n"
    )
    assert plan(g1)["WUH-001/INF/3"]["target"] == "2026-03-11"


def test_closing_a_site_lists_a_conflict_it_makes_outside_the_closed_days(cli: Cli) -> None:
    """Closing 30 September steps a follow-up back to its ideal day, a Saturday
    before the National Day holidays (no open day in its window): a conflict
    the closing made, though not on a day it closed."""
    ok(cli("site", "add", "CAL", "--timezone", "Asia/Shanghai", "--closed", "sat,sun",
           "--holidays", "CN"))  # fmt: skip
    ok(cli("enroll", "K1", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "CAL",
           "--day1", "2026-09-05"))  # fmt: skip
    out = ok(cli("site", "close", "CAL", "2026-09-30")).stdout
    assert out == (
        "site CAL closed 2026-09-30; 1 visit re-planned\n"
        "these stay on a closed day: their window has no open day, or a coordinator moved them "
        "there (see `planner conflicts`):\n"
        "  K1/FU/1  2026-10-03  closed on Saturdays\n"
    )


def test_a_move_over_capacity_warns(g1: Cli) -> None:
    enroll = ["enroll", "WUH-002", "--protocol", "ucmsc-dlc", "--arm", "G1"]
    ok(g1(*enroll, "--site", "WUH", "--day1", "2026-03-03"))
    ok(g1("site", "capacity", "WUH", "--kind", "infusion", "--per-day", "1"))
    moved = ok(g1("visit", "move", "WUH-002/INF/3", "--to", "2026-03-10", "--force"))
    assert "2026-03-10 now has 2 infusion visits at the site, over its cap of 1" in moved.stderr


def test_closing_a_site_lists_the_conflicts_it_creates(g1: Cli) -> None:
    # Closed 27 March to 2 April: the week-4 follow-up (ideal 03-30, window
    # 03-27..04-02) has no open day left; infusions are inpatient, never moved.
    out = ok(g1("site", "close", "WUH", "2026-03-27", "--to", "2026-04-02", "--reason", "flood"))
    assert out.stdout == (
        "site WUH closed 2026-03-27 to 2026-04-02; 0 visits re-planned\n"
        "these stay on a closed day: their window has no open day, or a coordinator moved them "
        "there (see `planner conflicts`):\n"
        "  WUH-001/FU/1  2026-03-30  flood\n"
    )


def test_closing_a_day_a_visit_was_moved_to_by_hand_keeps_it_there_and_says_why(g1: Cli) -> None:
    """A visit moved by hand stays where the coordinator put it, closed or
    not; the closing lists it without claiming its window has no open day."""
    ok(g1("visit", "move", "WUH-001/FU/1", "--to", "2026-03-31"))
    out = ok(g1("site", "close", "WUH", "2026-03-31", "--reason", "audit")).stdout
    assert out == (
        "site WUH closed 2026-03-31; 0 visits re-planned\n"
        "these stay on a closed day: their window has no open day, or a coordinator moved them "
        "there (see `planner conflicts`):\n"
        "  WUH-001/FU/1  2026-03-31  audit\n"
    )


def test_a_series_keeps_its_order_both_ways(g1: Cli, db_path: Path) -> None:
    """Infusion 2 recorded first: infusion 1 may not then be dated after it
    (it was accepted, a deviation at most, and "infusion 1" came second)."""
    ok(g1("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-06"))
    before = dump(db_path)
    refused(
        g1("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-07"),
        "cannot complete WUH-001/INF/1 on 2026-03-07: a later INF visit was completed "
        "earlier, on 2026-03-06",
    )
    assert dump(db_path) == before
    ok(g1("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"))


def test_a_weight_in_other_digits_is_refused(g1: Cli) -> None:
    """Dates must be ASCII digits; so must weights ("７０" was read as 70 kg)."""
    refused(
        g1("enroll", "WUH-002", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH",
           "--day1", "2026-03-02", "--weight-kg", "７０"),
        "weight '７０' is not a number of kilograms",
    )  # fmt: skip
