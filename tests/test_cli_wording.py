"""Small things a coordinator reads on the command line, said right: counts,
conflicting options, durations, revisions, unscheduled visits, window moves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, dump

Cli = Callable[..., CliResult]


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    return result


def refused(result: CliResult, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("planner: error: ")
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.fixture
def g1(cli: Cli) -> Cli:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("enroll", "P1", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH",
           "--day1", "2026-03-02"))  # fmt: skip
    return cli


def test_one_visit_is_one_visit(g1: Cli) -> None:
    # Every visit but SURV/1 (2027-03-02) done or missed: a death cancels one.
    for visit in ("INF/1", "INF/2", "INF/3", "INF/4", "FU/1", "FU/2", "FU/3", "FU/4", "FU/5"):
        ok(g1("visit", "miss", f"P1/{visit}"))
    assert ok(g1("participant", "died", "P1", "--on", "2026-11-01")).stdout == (
        "P1 died on 2026-11-01; 1 later visit cancelled\n"
    )
    assert ok(g1("participant", "reinstate", "P1", "--reason", "error")).stdout.startswith(
        "P1 reinstated; 1 cancelled visit scheduled again\n"
    )


def test_keep_and_cancel_survival_together_are_refused(g1: Cli) -> None:
    refused(
        g1(
            "participant",
            "withdraw",
            "P1",
            "--on",
            "2026-05-01",
            "--keep-survival",
            "--cancel-survival",
        ),
        "give --keep-survival or --cancel-survival, not both",
    )


@pytest.mark.parametrize(
    ("alarm", "says"),
    [
        ("", "is not a duration"),
        ("99999d", "at most 28 days"),
        ("P999999999DT999999999H", "at most 28 days"),
        ("PT99999999999999999H", "is not a duration"),
        ("P\u0663D", "is not a duration"),  # an Arabic-Indic digit
    ],
)
def test_alarms_that_are_no_reminder_are_refused(g1: Cli, alarm: str, says: str) -> None:
    refused(g1("export", "ics", "--alarm", alarm), f"alarm {alarm!r}", says)


def test_a_revision_from_the_future_is_named_as_such(g1: Cli) -> None:
    refused(
        g1("visit", "miss", "P1/INF/2", "--revision", "99"),
        "P1/INF/2 has never been at revision 99 (it is at revision 0)",
    )


def test_an_unscheduled_visit_reads_as_its_label(g1: Cli) -> None:
    ok(g1("visit", "add", "P1", "--on", "2026-03-20", "--label", "AE review"))
    line = next(x for x in ok(g1("schedule", "P1")).stdout.splitlines() if "P1/UNS/1" in x)
    assert "AE review" in line and "1/1" not in line


def test_a_replan_that_moves_only_the_window_says_so(g1: Cli) -> None:
    ok(g1("visit", "complete", "P1/INF/1", "--on", "2026-03-02"))
    ok(g1("visit", "move", "P1/INF/3", "--to", "2026-03-11"))  # pinned to its day
    done = ok(g1("visit", "complete", "P1/INF/2", "--on", "2026-03-07")).stdout
    assert "  P1/INF/3  window 2026-03-09 to 2026-03-11 → 2026-03-10 to 2026-03-12\n" in done


def test_the_audit_table_says_why_and_in_words(g1: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """SPEC §5: the trail says when, who, what, before and after, and why (the
    digests ``audit verify`` checks are in its JSON, not in the table)."""
    monkeypatch.setenv("COLUMNS", "400")
    ok(g1("visit", "move", "P1/FU/1", "--to", "2026-03-31", "--reason", "nurse away"))
    table = ok(g1("audit", "P1")).stdout
    header, *rows = table.splitlines()
    assert header.split() == ["AT", "(UTC)", "ACTOR", "ACTION", "WHAT", "CHANGE", "WHY"]
    move = next(row for row in rows if " move " in row)
    assert move.rstrip().endswith("nurse away")
    assert "pinned no→yes" in move and "False" not in move
    enrolled = next(row for row in rows if " enroll " in row)
    assert "weight_kg none" in enrolled and "None" not in enrolled
    assert "plan" not in enrolled and "sha256" not in enrolled


@pytest.mark.parametrize(
    ("actor", "says"),
    [
        ("   ", "the actor name is blank; say who is making changes"),
        ("ana\u00a0lee", "holds control characters, line breaks or other characters"),
    ],
)
def test_a_blank_actor_is_refused(cli: Cli, actor: str, says: str) -> None:
    refused(cli("--actor", actor, "site", "add", "WUH", "--timezone", "UTC"), says)


def test_a_blank_planner_db_is_refused_not_made_a_file(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLANNER_DB", "  ")
    refused(cli("site", "list", db=None), "PLANNER_DB is blank; give a database file or URL")
    assert list(tmp_path.iterdir()) == []


def test_a_site_code_differing_only_in_case_is_refused(cli: Cli) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    refused(
        cli("site", "add", "wuh", "--timezone", "Asia/Shanghai"),
        "site 'wuh' differs from site 'WUH' only in letter case",
    )
    listed = ok(cli("site", "list")).stdout
    assert "WUH" in listed and "wuh" not in listed


def test_a_move_outside_the_window_names_force_once_at_the_end(g1: Cli) -> None:
    result = g1("visit", "move", "P1/FU/1", "--to", "2026-06-01")
    refused(result, "; add --force to do it anyway")
    assert result.stderr.startswith("planner: error: cannot move P1/FU/1 to 2026-06-01: ")
    assert result.stderr.count("--force") == 1


def test_a_one_character_password_is_one_character(cli: Cli) -> None:
    result = cli("user", "add", "bob", "--role", "viewer", "--all-sites", "--password-stdin",
                 input="x\n")  # fmt: skip
    refused(result, "the password is 1 character long; it must have 12 to")


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("a\x1b[31mb", "the reason holds the control character U+001B; remove it"),
        ("x" * 2001, "the reason is 2001 characters long; at most 2000 are kept"),
    ],
)
def test_a_reason_that_cannot_be_kept_is_refused_writing_nothing(
    g1: Cli, db_path: Path, reason: str, says: str
) -> None:
    before = dump(db_path)
    refused(g1("visit", "miss", "P1/FU/1", "--reason", reason), says)
    refused(g1("participant", "withdraw", "P1", "--on", "2026-03-05", "--reason", reason), says)
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "missing command: audit, capacity, conflicts, db, "),
        (("visit",), "missing command: add, complete, miss, move, undo (see `main visit --help`)"),
    ],
)
def test_a_group_without_its_command_names_the_commands_on_one_line(
    cli: Cli, args: tuple[str, ...], says: str
) -> None:
    refused(cli(*args), says)
    assert len(cli(*args).stderr.splitlines()) == 1
