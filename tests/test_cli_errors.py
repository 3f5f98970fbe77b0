"""Bad enrolments through the CLI: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump

Cli = Callable[..., Any]

GOOD = ("--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH", "--day1", "2026-03-02")


def assert_one_error_line(result: Any, *fragments: str, exit_code: int = 2) -> str:
    """Exactly one line on stderr, "planner: error: ...", nothing on stdout."""
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.endswith("\n")
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line: str = lines[0]
    assert line.startswith("planner: error: ")
    for fragment in fragments:
        assert fragment in line
    return line


@pytest.fixture
def sites_and_one_participant(cli: Cli, db_path: Path) -> str:
    """Two sites and P-001 enrolled; returns the database dump."""
    for code, zone in (("WUH", "Asia/Shanghai"), ("NYC", "America/New_York")):
        assert cli("site", "add", code, "--timezone", zone).exit_code == 0
    result = cli("enroll", "P-001", *GOOD)
    assert result.exit_code == 0, result.stderr
    return dump(db_path)


# ------------------------------------------------------- one participant


def _args(participant: str, protocol: str, arm: str, site: str) -> tuple[str, ...]:
    return (
        participant,
        "--protocol",
        protocol,
        "--arm",
        arm,
        "--site",
        site,
        "--day1",
        "2026-03-02",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            _args("P-002", "no-such", "G1", "WUH"),
            "planner: error: unknown protocol 'no-such' (protocols: cs-huc-mscs, ucmsc-dlc)",
        ),
        (
            _args("P-002", "ucmsc-dlc", "MED", "WUH"),
            "planner: error: unknown arm 'MED' for protocol ucmsc-dlc (arms: G1, G2, CTRL)",
        ),
        (
            _args("P-002", "cs-huc-mscs", "G1", "WUH"),
            "planner: error: unknown arm 'G1' for protocol cs-huc-mscs (arms: LOW, MED, HIGH)",
        ),
        (
            _args("P-002", "ucmsc-dlc", "G1", "PAR"),
            "planner: error: unknown site 'PAR' (sites: NYC, WUH)",
        ),
        (
            _args("P-001", "ucmsc-dlc", "G2", "NYC"),
            "planner: error: participant 'P-001' is already enrolled",
        ),
    ],
    ids=["unknown-protocol", "unknown-arm", "arm-of-other-protocol", "unknown-site", "duplicate"],
)
def test_bad_enrolment_names_the_problem_and_writes_nothing(
    cli: Cli, db_path: Path, sites_and_one_participant: str, args: tuple[str, ...], message: str
) -> None:
    result = cli("enroll", *args)

    assert assert_one_error_line(result) == message
    assert dump(db_path) == sites_and_one_participant


@pytest.mark.parametrize("day1", ["2026-02-30", "2026-13-01", "2026-3-2", "02/03/2026"])
def test_impossible_day1(
    cli: Cli, db_path: Path, sites_and_one_participant: str, day1: str
) -> None:
    args = ("--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH", "--day1", day1)

    result = cli("enroll", "P-002", *args)

    assert_one_error_line(result, "--day1", day1)
    assert dump(db_path) == sites_and_one_participant


@pytest.mark.parametrize(
    "code",
    ["P/002", "P 002", "P-002\n", "P-\n002", "-P002", "", ".P002", "P" * 65, "P-002;", "Ω-002"],
    ids=[
        "slash",
        "space",
        "trailing-newline",
        "inner-newline",
        "leading-dash",
        "empty",
        "leading-dot",
        "too-long",
        "semicolon",
        "non-ascii",
    ],
)
def test_bad_participant_code(
    cli: Cli, db_path: Path, sites_and_one_participant: str, code: str
) -> None:
    # The options come first and `--` ends them, so a code starting with a dash
    # reaches the command as the participant and not as an option.
    result = cli("enroll", *GOOD, "--", code)

    assert_one_error_line(result, "participant code", "is not allowed")
    assert dump(db_path) == sites_and_one_participant


def test_unknown_site_when_there_are_none_says_how_to_add_one(cli: Cli, db_path: Path) -> None:
    assert cli("site", "list").stdout == "(no sites)\n"
    before = dump(db_path)

    result = cli("enroll", "P-001", *GOOD)

    assert_one_error_line(
        result,
        "unknown site 'WUH'",
        "no sites yet: add one with `planner site add CODE --timezone ZONE`",
    )
    assert dump(db_path) == before


def test_missing_options_are_a_usage_error(
    cli: Cli, db_path: Path, sites_and_one_participant: str
) -> None:
    result = cli("enroll", "P-002", "--protocol", "ucmsc-dlc", "--arm", "G1")

    assert_one_error_line(result, "missing --site, --day1")
    assert dump(db_path) == sites_and_one_participant


def test_implausible_weight(cli: Cli, db_path: Path, sites_and_one_participant: str) -> None:
    result = cli("enroll", "P-002", *GOOD, "--weight-kg", "0")

    assert_one_error_line(result, "weight", "not plausible")
    assert dump(db_path) == sites_and_one_participant


# ------------------------------------------------------------ CSV files

HEADER = "participant,protocol,arm,site,day1,weight_kg"
GOOD_ROWS = [
    "C-001,ucmsc-dlc,G1,WUH,2026-03-02,62",  # line 2
    "",  # line 3: a blank line still counts
    "C-002,cs-huc-mscs,MED,NYC,2026-04-20,",  # line 4
]
LAST_ROW = "C-003,ucmsc-dlc,CTRL,WUH,2026-03-02,"  # line 6, after the bad one


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (
            "C-009,ucmsc-dlc,LOW,WUH,2026-03-02,",
            "unknown arm 'LOW' for protocol ucmsc-dlc (arms: G1, G2, CTRL)",
        ),
        ("C-009,cs-huc-mscs,MED,PAR,2026-03-02,", "unknown site 'PAR' (sites: NYC, WUH)"),
        ("C-009,no-such,MED,WUH,2026-03-02,", "unknown protocol 'no-such'"),
        (
            "C-001,ucmsc-dlc,G2,WUH,2026-03-02,",
            "participant 'C-001' appears again (first on line 2)",
        ),
        ("P-001,ucmsc-dlc,G2,WUH,2026-03-02,", "participant 'P-001' is already enrolled"),
        (
            "c-001,ucmsc-dlc,G2,WUH,2026-03-02,",
            "participant 'c-001' appears again (first on line 2 as 'C-001')",
        ),
        (
            "p-001,ucmsc-dlc,G2,WUH,2026-03-02,",
            "participant 'p-001' differs from the enrolled 'P-001' only in letter case",
        ),
        ("C-009,ucmsc-dlc,G2,WUH,2026-02-30,", "day1 '2026-02-30' is not a real calendar date"),
        ("C/009,ucmsc-dlc,G2,WUH,2026-03-02,", "participant code 'C/009' is not allowed"),
        ("C-009,ucmsc-dlc,G2,WUH,2026-03-02,0.2", "weight '0.2' kg is not plausible"),
        ("C-009,ucmsc-dlc,G2,WUH,2026-03-02", "has 5 fields, expected 6"),
    ],
    ids=[
        "unknown-arm",
        "unknown-site",
        "unknown-protocol",
        "duplicate-in-file",
        "already-enrolled",
        "duplicate-in-file-in-other-case",
        "enrolled-in-other-case",
        "impossible-date",
        "slash-in-code",
        "implausible-weight",
        "short-row",
    ],
)
def test_bad_csv_row_names_its_line_and_writes_nothing(
    cli: Cli,
    db_path: Path,
    tmp_path: Path,
    sites_and_one_participant: str,
    bad_row: str,
    message: str,
) -> None:
    path = tmp_path / "enrol.csv"
    path.write_text("\n".join([HEADER, *GOOD_ROWS, bad_row, LAST_ROW]) + "\n", encoding="utf-8")

    result = cli("enroll", "--csv", str(path))

    line = assert_one_error_line(result, f"{path} line 5: ", message)
    assert "line 2" not in re.sub(r"\(first on line 2( as '[^']+')?\)", "", line)
    assert dump(db_path) == sites_and_one_participant


def test_bad_last_csv_row_writes_nothing(
    cli: Cli, db_path: Path, tmp_path: Path, sites_and_one_participant: str
) -> None:
    path = tmp_path / "enrol.csv"
    rows = [HEADER] + [f"B-{n:03d},ucmsc-dlc,G2,NYC,2026-03-02," for n in range(1, 600)]
    rows.append("B-600,ucmsc-dlc,G2,NYC,2026-02-29,")  # line 601; 2026 is no leap year
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    result = cli("enroll", "--csv", str(path))

    assert_one_error_line(result, "line 601: ", "2026-02-29")
    assert dump(db_path) == sites_and_one_participant


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty; expected a header line"),
        ("participant,protocol,arm,site\n", "line 1: missing column(s) day1"),
        (HEADER + ",colour\n", "line 1: unknown column(s) 'colour'"),
        (HEADER + "\n", "has a header but no participants"),
    ],
    ids=["empty", "missing-column", "unknown-column", "header-only"],
)
def test_bad_csv_file(
    cli: Cli,
    db_path: Path,
    tmp_path: Path,
    sites_and_one_participant: str,
    content: str,
    message: str,
) -> None:
    path = tmp_path / "enrol.csv"
    path.write_text(content, encoding="utf-8")

    result = cli("enroll", "--csv", str(path))

    assert_one_error_line(result, message)
    assert dump(db_path) == sites_and_one_participant


def test_missing_csv_file(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    result = cli("enroll", "--csv", str(tmp_path / "nope.csv"))

    assert_one_error_line(result, "nope.csv: no such file")


def test_csv_with_other_values_is_a_usage_error(
    cli: Cli, db_path: Path, tmp_path: Path, sites_and_one_participant: str
) -> None:
    path = tmp_path / "enrol.csv"
    path.write_text(HEADER + "\n" + GOOD_ROWS[0] + "\n", encoding="utf-8")

    result = cli("enroll", "--csv", str(path), "--site", "WUH")

    assert_one_error_line(result, "--csv enrols from the file alone")
    assert dump(db_path) == sites_and_one_participant


# ---------------------------------------------------------------- sites


@pytest.mark.parametrize(
    "code",
    ["W/UH", "W UH", "WUH\n", "-WUH", "", "W" * 33],
    ids=["slash", "space", "trailing-newline", "leading-dash", "empty", "too-long"],
)
def test_bad_site_code(cli: Cli, db_path: Path, sites_and_one_participant: str, code: str) -> None:
    result = cli("site", "add", "--timezone", "UTC", "--", code)

    assert_one_error_line(result, "site code", "is not allowed")
    assert dump(db_path) == sites_and_one_participant


def test_bad_site_zone_and_duplicate_site(
    cli: Cli, db_path: Path, sites_and_one_participant: str
) -> None:
    zone = cli("site", "add", "PAR", "--timezone", "Europe/Parus")
    again = cli("site", "add", "WUH", "--timezone", "UTC")

    assert_one_error_line(zone, "unknown time zone 'Europe/Parus'")
    assert assert_one_error_line(again) == "planner: error: site 'WUH' exists already"
    assert dump(db_path) == sites_and_one_participant


def test_output_that_cannot_be_printed_is_one_sentence(tmp_path: Path) -> None:
    """A full disk behind stdout, or stdout closed: never "unexpected OSError"."""
    import os
    import subprocess
    import sys

    db = str(tmp_path / "planner.db")
    argv = [sys.executable, "-c", "from planner.cli.root import main; main()", "--db", db]
    made = subprocess.run([*argv, "site", "add", "WUH", "--timezone", "UTC"], capture_output=True)
    assert made.returncode == 0, made.stderr
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*argv, "site", "add", "NYC", "--timezone", "UTC"],
            stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == (
        "planner: error: cannot print the result: No space left on device; what the command "
        "changed, if anything, is saved (see `planner audit`)\n"
    )
    closed = subprocess.run(
        [*argv, "site", "add", "PAR", "--timezone", "UTC"],
        stderr=subprocess.PIPE, text=True, cwd=tmp_path, preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert (closed.returncode, closed.stderr) == (
        1,
        "planner: error: standard output is closed; nothing was done\n",
    )
    listed = subprocess.run([*argv, "site", "list"], capture_output=True, text=True)
    assert "NYC" in listed.stdout and "PAR" not in listed.stdout
