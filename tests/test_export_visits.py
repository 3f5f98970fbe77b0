"""`planner export visits` through the real entry point: every field of every
visit, as JSON, NDJSON or CSV, equal to what `planner schedule --format json`
says; CSV cells that a spreadsheet would run as formulas are neutralised."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.app.exports import EMPTY_CSV_COLUMNS, csv_lines, csv_value
from planner.core.visits import VisitRecord
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

SETUP = [
    ("site", "add", "WUH", "--timezone", "Asia/Shanghai"),
    ("site", "add", "NYC", "--timezone", "America/New_York"),
    ("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
     "--day1", "2026-04-20"),
    ("enroll", "NYC-001", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "NYC",
     "--day1", "2026-03-02", "--weight-kg", "62"),
    ("visit", "complete", "WUH-001/INF/1", "--on", "2026-04-21"),
    ("visit", "miss", "WUH-001/IHFU/1"),
    ("visit", "add", "WUH-001", "--on", "2026-05-09", "--label", "=HYPERLINK(\"http://x\")"),
    ("visit", "add", "WUH-001", "--on", "2026-05-10", "--label", "@SUM(A1)"),
    ("visit", "add", "WUH-001", "--on", "2026-05-11", "--label", "-2+3"),
    ("visit", "add", "WUH-001", "--on", "2026-05-12", "--label", "+cmd"),
]  # fmt: skip
PARTICIPANTS = ("WUH-001", "NYC-001")


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture
def database(cli: Cli) -> Cli:
    for command in SETUP:
        ok(cli(*command))
    return cli


def schedules(cli: Cli, *participants: str) -> dict[str, dict[str, Any]]:
    """Visit id → the JSON visit object, from `planner schedule --format json`."""
    found: dict[str, dict[str, Any]] = {}
    for code in participants:
        for visit in json.loads(ok(cli("schedule", code, "--format", "json")).stdout):
            found[visit["visit_id"]] = visit
    return found


def csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def test_json_holds_every_field_of_every_visit(database: Cli) -> None:
    exported = json.loads(ok(database("export", "visits")).stdout)
    expected = schedules(database, *PARTICIPANTS)
    assert len(exported) == len(expected) > 20
    assert {visit["visit_id"]: visit for visit in exported} == expected
    dates = [(visit["target"], visit["time"] or "") for visit in exported]
    assert dates == sorted(dates)


def test_ndjson_is_one_visit_object_a_line(database: Cli) -> None:
    whole = json.loads(ok(database("export", "visits", "--format", "json")).stdout)
    lines = ok(database("export", "visits", "--format", "ndjson")).stdout.splitlines()
    assert [json.loads(line) for line in lines] == whole


def test_csv_has_a_header_and_the_json_values(database: Cli) -> None:
    whole = json.loads(ok(database("export", "visits", "--format", "json")).stdout)
    text = ok(database("export", "visits", "--format", "csv")).stdout
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == list(whole[0])
    expected = [[csv_text(value) for value in visit.values()] for visit in whole]
    labels = header.index("label")
    for row in expected:
        row[labels] = "'" + row[labels] if row[labels][0] in "=+-@" else row[labels]
    assert rows == expected


def test_csv_cells_that_would_run_as_formulas_are_neutralised(database: Cli) -> None:
    text = ok(database("export", "visits", "--format", "csv")).stdout
    labels = {row["visit_id"]: row["label"] for row in csv.DictReader(io.StringIO(text))}
    assert labels["WUH-001/UNS/1"] == '\'=HYPERLINK("http://x")'
    assert labels["WUH-001/UNS/2"] == "'@SUM(A1)"
    assert labels["WUH-001/UNS/3"] == "'-2+3"
    assert labels["WUH-001/UNS/4"] == "'+cmd"
    assert labels["WUH-001/INF/1"] == "Infusion"
    # Numbers are not text: a negative study day would stay as it is.
    raw = json.loads(ok(database("export", "visits")).stdout)
    assert {v["label"] for v in raw} >= {'=HYPERLINK("http://x")', "@SUM(A1)"}


@pytest.mark.parametrize(
    ("option", "value", "participants"),
    [("--site", "NYC", ("NYC-001",)), ("--protocol", "cs-huc-mscs", ("WUH-001",)),
     ("--participant", "WUH-001", ("WUH-001",))],
)  # fmt: skip
def test_a_scope_narrows_the_export(
    database: Cli, option: str, value: str, participants: tuple[str, ...]
) -> None:
    exported = json.loads(ok(database("export", "visits", option, value)).stdout)
    assert {visit["visit_id"]: visit for visit in exported} == schedules(database, *participants)


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_output_is_written_whole_to_a_file(database: Cli, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"visits.{fmt}"
    done = ok(database("export", "visits", "--format", fmt, "--output", str(out)))
    assert done.stdout == ""
    assert done.stderr == f"wrote {out} ({out.stat().st_size} bytes)\n"
    assert (
        out.read_text(encoding="utf-8") == ok(database("export", "visits", "--format", fmt)).stdout
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".planner-")] == []


def test_no_visits(cli: Cli) -> None:
    assert ok(cli("export", "visits")).stdout == "[]\n"
    assert ok(cli("export", "visits", "--format", "ndjson")).stdout == ""
    header = ok(cli("export", "visits", "--format", "csv")).stdout
    assert header == ",".join(EMPTY_CSV_COLUMNS) + "\n"


def test_the_empty_csv_header_is_that_of_a_visit(database: Cli) -> None:
    text = ok(database("export", "visits", "--format", "csv")).stdout
    assert tuple(text.splitlines()[0].split(",")) == EMPTY_CSV_COLUMNS


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--site", "NOPE"), "unknown site 'NOPE'"),
     (("--protocol", "nope"), "unknown protocol 'nope'"),
     (("--participant", "X-1"), "unknown participant 'X-1'"),
     (("--format", "xml"), "'xml' is not one of")],
)  # fmt: skip
def test_bad_input_prints_nothing_on_stdout(
    database: Cli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "visits.json"
    for extra in ((), ("--output", str(out))):
        done = database("export", "visits", *args, *extra)
        assert done.exit_code == 2
        assert done.stdout == ""
        assert done.stderr.startswith("planner: error: ") and message in done.stderr
        assert len(done.stderr.splitlines()) == 1
    assert not out.exists()


#: Text a visit may hold. Not a carriage return: stored text is one line (the
#: commands refuse others), and the csv module leaves a lone CR unquoted with
#: "\n" line ends, so no reader could split such a row back.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"))


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(_TEXT, min_size=6, max_size=6),
    time=st.one_of(st.none(), _TEXT),
    numbers=st.lists(st.integers(-10_000, 10_000), min_size=5, max_size=5),
    duration=st.one_of(st.none(), st.integers(0, 600)),
    actual=st.one_of(st.none(), st.dates()),
    deviation=st.booleans(),
)
def test_every_csv_cell_is_what_csv_value_makes_of_the_json_value(
    texts: list[str],
    time: str | None,
    numbers: list[int],
    duration: int | None,
    actual: date | None,
    deviation: bool,
) -> None:
    """csv_lines spells csv_value out for speed: the same cells, whatever the values."""
    participant, label, arm, site, status, zone = texts
    version, occurrence, count, study_day, revision = numbers
    day = date(2026, 5, 4)
    record = VisitRecord(
        f"{participant}/INF/1", participant, site, "p", version, arm, "INF", label, "infusion",
        "in-person", "outpatient", occurrence, count, study_day, day, day, day, day, time,
        duration, zone, status, actual, deviation, revision, datetime(2026, 5, 1), "", "u@x",
    )  # type: ignore[arg-type]  # fmt: skip
    text = b"".join(csv_lines([record])).decode("utf-8")
    header, row = list(csv.reader(io.StringIO(text, newline="")))
    values = record.to_json()
    assert header == list(values)
    assert row == [csv_value(value) for value in values.values()]
    assert row[list(values).index("study_day")] == str(study_day)  # numbers are not text
