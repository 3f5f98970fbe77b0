"""`planner export sdtm` through the real entry point.

A scripted scenario on cs-huc-mscs at two sites (Shanghai and New York, so
"today" differs between them) gives exact SV rows; every Dataset-JSON file is
validated against CDISC's schema, XPT files are read back by pandas (pyreadstat
writes them), CSV has the JSON's columns and values, and bad input leaves the
output folder exactly as it was.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas
import pytest

import planner.app.context
from planner.store.files import write_files_atomically
from tests.conftest import CliResult
from tests.test_datasetjson import JSON_SCHEMA, NDJSON_SCHEMA

Cli = Callable[..., CliResult]

#: 20:00 UTC: already 21 June in Shanghai, still 20 June in New York.
NOW = datetime(2026, 6, 20, 20, 0)
ROOT = Path(__file__).parent.parent
CREATED = "2026-06-21T00:00:00Z"
STUDY = "NCT05442437"
DOMAINS = ("ta", "te", "tv", "sv")

SCRIPT = [
    ("site", "add", "WUH", "--timezone", "Asia/Shanghai"),
    ("site", "add", "NYC", "--timezone", "America/New_York"),
    ("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
     "--day1", "2026-04-20"),
    ("enroll", "WUH-002", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
     "--day1", "2026-04-20"),
    ("enroll", "NYC-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "NYC",
     "--day1", "2026-04-20"),
    ("visit", "complete", "WUH-001/INF/1", "--on", "2026-04-20"),  # on target
    ("visit", "complete", "WUH-001/IHFU/1", "--on", "2026-04-24"),  # a day late
    ("visit", "complete", "WUH-001/INF/2", "--on", "2026-04-28"),  # a day late
    ("visit", "miss", "WUH-001/IHFU/2", "--reason", "too unwell to travel"),
    ("visit", "move", "WUH-001/INF/3", "--to", "2026-05-05", "--reason", "bed shortage"),
    ("visit", "complete", "WUH-001/INF/3", "--on", "2026-05-05"),
    ("visit", "complete", "WUH-001/IHFU/3", "--on", "2026-05-08"),
    ("visit", "add", "WUH-001", "--on", "2026-05-09", "--label", "Fever check"),
    ("visit", "complete", "WUH-001/UNS/1", "--on", "2026-05-09"),
    ("visit", "complete", "WUH-001/IHFU/4", "--on", "2026-05-12"),
    ("visit", "complete", "WUH-001/FU/1", "--on", "2026-05-18"),
    ("visit", "complete", "WUH-002/INF/1", "--on", "2026-04-20"),
    ("participant", "died", "WUH-002", "--on", "2026-04-22"),
]  # fmt: skip

S, N = "NCT05442437-", None
#: STUDYID and DOMAIN left out: the same on every row.
SV_ROWS = [
    # New York: nothing recorded; past due up to FU 1. FU 2's window ends on
    # 20 June, which is still today in New York, so it is not past due yet.
    [S + "NYC-001", 1001, "INFUSION 1", "Y", "N", "", "", 1, "TREATMENT", "", "", N, N, ""],
    [S + "NYC-001", 2001, "IN-HOSPITAL FOLLOW-UP 1", "Y", "N", "", "", 4, "TREATMENT",
     "", "", N, N, ""],
    [S + "NYC-001", 1002, "INFUSION 2", "Y", "N", "", "", 8, "TREATMENT", "", "", N, N, ""],
    [S + "NYC-001", 2002, "IN-HOSPITAL FOLLOW-UP 2", "Y", "N", "", "", 11, "TREATMENT",
     "", "", N, N, ""],
    [S + "NYC-001", 1003, "INFUSION 3", "Y", "N", "", "", 15, "TREATMENT", "", "", N, N, ""],
    [S + "NYC-001", 2003, "IN-HOSPITAL FOLLOW-UP 3", "Y", "N", "", "", 18, "FOLLOW-UP",
     "", "", N, N, ""],
    [S + "NYC-001", 2004, "IN-HOSPITAL FOLLOW-UP 4", "Y", "N", "", "", 22, "FOLLOW-UP",
     "", "", N, N, ""],
    [S + "NYC-001", 3001, "FOLLOW-UP 1", "Y", "N", "", "", 29, "FOLLOW-UP", "", "", N, N, ""],
    # Shanghai, on and off target, a miss with its reason, a moved visit, an unscheduled one.
    [S + "WUH-001", 1001, "INFUSION 1", "Y", "Y", "", "IN PERSON", 1, "TREATMENT",
     "2026-04-20", "2026-04-20", 1, 1, ""],
    [S + "WUH-001", 2001, "IN-HOSPITAL FOLLOW-UP 1", "Y", "Y", "", "IN PERSON", 4, "TREATMENT",
     "2026-04-24", "2026-04-24", 5, 5, ""],
    [S + "WUH-001", 1002, "INFUSION 2", "Y", "Y", "", "IN PERSON", 8, "TREATMENT",
     "2026-04-28", "2026-04-28", 9, 9, ""],
    [S + "WUH-001", 2002, "IN-HOSPITAL FOLLOW-UP 2", "Y", "N", "too unwell to travel", "", 11,
     "TREATMENT", "", "", N, N, ""],
    [S + "WUH-001", 1003, "INFUSION 3", "Y", "Y", "", "IN PERSON", 15, "TREATMENT",
     "2026-05-05", "2026-05-05", 16, 16, ""],
    [S + "WUH-001", 2003, "IN-HOSPITAL FOLLOW-UP 3", "Y", "Y", "", "IN PERSON", 18, "FOLLOW-UP",
     "2026-05-08", "2026-05-08", 19, 19, ""],
    [S + "WUH-001", 2003.01, "IN-HOSPITAL FOLLOW-UP 3: UNSCHEDULED 01", "", "", "", "IN PERSON",
     N, "FOLLOW-UP", "2026-05-09", "2026-05-09", 20, 20, "Fever check"],
    [S + "WUH-001", 2004, "IN-HOSPITAL FOLLOW-UP 4", "Y", "Y", "", "IN PERSON", 22, "FOLLOW-UP",
     "2026-05-12", "2026-05-12", 23, 23, ""],
    [S + "WUH-001", 3001, "FOLLOW-UP 1", "Y", "Y", "", "IN PERSON", 29, "FOLLOW-UP",
     "2026-05-18", "2026-05-18", 29, 29, ""],
    # FU 2's window ended on 20 June; it is 21 June in Shanghai.
    [S + "WUH-001", 3002, "FOLLOW-UP 2", "Y", "N", "", "", 57, "FOLLOW-UP", "", "", N, N, ""],
    # Died on 22 April: nothing after it.
    [S + "WUH-002", 1001, "INFUSION 1", "Y", "Y", "", "IN PERSON", 1, "TREATMENT",
     "2026-04-20", "2026-04-20", 1, 1, ""],
]  # fmt: skip


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture
def scenario(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The scripted database, with the clock at :data:`NOW`."""
    monkeypatch.setattr(planner.app.context, "utc_now", lambda: NOW)
    for command in SCRIPT:
        ok(cli(*command))
    return cli


def export(cli: Cli, out: Path, fmt: str = "dataset-json", *extra: str) -> CliResult:
    return cli(
        "export", "sdtm", "--protocol", "cs-huc-mscs", "--study-id", STUDY, "--out", str(out),
        "--format", fmt, "--created", CREATED, *extra,
    )  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_sv_rows_of_a_scripted_scenario_are_exact(scenario: Cli, tmp_path: Path) -> None:
    out = tmp_path / "sdtm"
    done = ok(export(scenario, out))
    size = (out / "sv.json").stat().st_size
    assert done.stdout.splitlines()[-1] == f"wrote {out}/sv.json (19 rows, {size} bytes)"
    sv = json.loads((out / "sv.json").read_text(encoding="utf-8"))
    assert [row[:2] for row in sv["rows"]] == [[STUDY, "SV"]] * len(SV_ROWS)
    assert [row[2:] for row in sv["rows"]] == SV_ROWS
    assert sorted(os.listdir(out)) == ["sv.json", "ta.json", "te.json", "tv.json"]


def test_every_dataset_json_file_validates_against_cdisc_schema(
    scenario: Cli, tmp_path: Path
) -> None:
    ok(export(scenario, tmp_path / "json"))
    ok(export(scenario, tmp_path / "ndjson", "ndjson"))
    for domain in DOMAINS:
        whole = json.loads((tmp_path / "json" / f"{domain}.json").read_text(encoding="utf-8"))
        JSON_SCHEMA.validate(whole)
        assert whole["datasetJSONCreationDateTime"] == CREATED
        assert whole["studyOID"] == STUDY
        lines = (tmp_path / "ndjson" / f"{domain}.ndjson").read_text(encoding="utf-8")
        head, *rows = [json.loads(line) for line in lines.splitlines()]
        NDJSON_SCHEMA.validate(head)
        assert head == {key: value for key, value in whole.items() if key != "rows"}
        assert rows == whole["rows"]


def test_the_same_data_and_creation_time_give_the_same_bytes(scenario: Cli, tmp_path: Path) -> None:
    ok(export(scenario, tmp_path / "a"))
    ok(export(scenario, tmp_path / "b"))
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def _json_rows(folder: Path, domain: str) -> tuple[list[str], list[list[Any]]]:
    data = json.loads((folder / f"{domain}.json").read_text(encoding="utf-8"))
    return [column["name"] for column in data["columns"]], data["rows"]


def _as_csv_text(value: Any) -> str:
    return "" if value is None else str(value)


def test_csv_has_the_json_columns_and_values(scenario: Cli, tmp_path: Path) -> None:
    ok(export(scenario, tmp_path / "json"))
    ok(export(scenario, tmp_path / "csv", "csv"))
    for domain in DOMAINS:
        names, rows = _json_rows(tmp_path / "json", domain)
        text = (tmp_path / "csv" / f"{domain}.csv").read_text(encoding="utf-8")
        header, *lines = list(csv.reader(io.StringIO(text)))
        assert header == names
        assert lines == [[_as_csv_text(value) for value in row] for row in rows]


def test_xpt_files_read_back_with_a_second_reader(scenario: Cli, tmp_path: Path) -> None:
    ok(export(scenario, tmp_path / "json"))
    done = ok(export(scenario, tmp_path / "xpt", "xpt"))
    assert len(done.stdout.splitlines()) == 4
    for domain in DOMAINS:
        names, rows = _json_rows(tmp_path / "json", domain)
        frame = pandas.read_sas(
            tmp_path / "xpt" / f"{domain}.xpt", format="xport", encoding="utf-8"
        )
        assert list(frame.columns) == names
        assert all(len(name) <= 8 for name in names)
        for row, read in zip(rows, frame.itertuples(index=False), strict=True):
            for value, back in zip(row, read, strict=True):
                if value is None:
                    assert math.isnan(back)
                else:
                    assert back == value
        assert len(frame) == len(rows)


def test_xpt_files_of_the_same_data_and_time_are_the_same_bytes(
    scenario: Cli, tmp_path: Path
) -> None:
    """The XPT writer stamps its headers with the clock: they get --created."""
    ok(export(scenario, tmp_path / "a", "xpt", "--domains", "TA"))
    time.sleep(1.1)  # a second later: the clock's stamp would differ
    ok(export(scenario, tmp_path / "b", "xpt", "--domains", "TA"))
    first, second = (
        (tmp_path / "a" / "ta.xpt").read_bytes(),
        (tmp_path / "b" / "ta.xpt").read_bytes(),
    )
    assert first == second
    assert first.count(b"21JUN26:00:00:00") == 4  # created and modified, library and member
    assert len(pandas.read_sas(tmp_path / "a" / "ta.xpt", format="xport", encoding="utf-8")) > 0


def _sv_csv(cli: Cli, out: Path) -> list[dict[str, str]]:
    ok(export(cli, out, "csv", "--domains", "SV"))
    return list(csv.DictReader(io.StringIO((out / "sv.csv").read_text(encoding="utf-8"))))


def test_svreasoc_is_only_why_a_visit_did_not_happen(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reason given when moving a visit is not why it did not occur."""
    monkeypatch.setattr(planner.app.context, "utc_now", lambda: NOW)
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("enroll", "P2", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
           "--day1", "2026-04-20"))  # fmt: skip
    ok(cli("visit", "move", "P2/FU/1", "--to", "2026-05-19", "--reason", "chair busy"))
    ok(cli("visit", "miss", "P2/INF/1", "--reason", "fever"))
    rows = {row["VISIT"]: row for row in _sv_csv(cli, tmp_path / "sv")}
    assert (rows["FOLLOW-UP 1"]["SVOCCUR"], rows["FOLLOW-UP 1"]["SVREASOC"]) == ("N", "")
    assert (rows["INFUSION 1"]["SVOCCUR"], rows["INFUSION 1"]["SVREASOC"]) == ("N", "fever")


def test_a_participant_with_only_an_unscheduled_visit_left_is_exported(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Withdrawn before day 1 after an unscheduled visit: every planned visit
    is cancelled, and the export once refused the whole study for it."""
    monkeypatch.setattr(planner.app.context, "utc_now", lambda: NOW)
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("enroll", "P9", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
           "--day1", "2026-07-01"))  # fmt: skip
    ok(cli("visit", "add", "P9", "--on", "2026-06-19", "--label", "AE check"))
    ok(cli("visit", "complete", "P9/UNS/1", "--on", "2026-06-19"))
    ok(cli("participant", "withdraw", "P9", "--on", "2026-06-20", "--cancel-survival"))
    rows = _sv_csv(cli, tmp_path / "sv")
    assert [(r["USUBJID"], r["SVSTDTC"], r["SVSTDY"], r["SVUPDES"]) for r in rows] == [
        (STUDY + "-P9", "2026-06-19", "-12", "AE check")
    ]


def test_the_design_of_a_bundled_protocol_nobody_is_enrolled_in(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "dlc"
    done = ok(
        cli("export", "sdtm", "--protocol", "ucmsc-dlc", "--study-id", "UCMSC-DLC",
            "--out", str(out), "--created", CREATED)
    )  # fmt: skip
    assert len(done.stdout.splitlines()) == 4
    tv = json.loads((out / "tv.json").read_text(encoding="utf-8"))
    JSON_SCHEMA.validate(tv)
    assert tv["records"] > 0
    assert json.loads((out / "sv.json").read_text(encoding="utf-8"))["rows"] == []


def test_visitnum_stays_put_when_a_new_version_adds_a_series_first(
    scenario: Cli, tmp_path: Path
) -> None:
    ok(export(scenario, tmp_path / "v1"))
    source = (ROOT / "planner" / "protocols" / "cs-huc-mscs.toml").read_text(encoding="utf-8")
    lab = (
        '[[schedule]]\ncode = "LAB"\nlabel = "Blood test"\nkind = "visit"\n'
        "window = { before = 0, after = 1 }\ntiming = { days = [2] }\n\n"
    )
    first = source.index("[[schedule]]")
    (tmp_path / "v2.toml").write_text(source[:first] + lab + source[first:], encoding="utf-8")
    ok(scenario("protocol", "add", str(tmp_path / "v2.toml")))
    ok(scenario("enroll", "WUH-003", "--protocol", "cs-huc-mscs", "--arm", "LOW",
                "--site", "WUH", "--day1", "2026-04-20"))  # fmt: skip
    ok(export(scenario, tmp_path / "v2"))
    _, tv = _json_rows(tmp_path / "v2", "tv")
    visits = {row[3]: row[2] for row in tv}
    assert visits["INFUSION 1"] == 1001 and visits["SURVIVAL CALL 3"] == 4003
    assert visits["BLOOD TEST 1"] == 5001
    _, before = _json_rows(tmp_path / "v1", "sv")
    _, after = _json_rows(tmp_path / "v2", "sv")
    assert [row for row in after if "WUH-003" not in row[2]] == before
    assert [row[3:5] for row in after if "WUH-003" in row[2]][:3] == [
        [1001, "INFUSION 1"],
        [5001, "BLOOD TEST 1"],
        [2001, "IN-HOSPITAL FOLLOW-UP 1"],
    ]


def test_only_the_domains_asked_for(scenario: Cli, tmp_path: Path) -> None:
    ok(export(scenario, tmp_path / "two", "csv", "--domains", "sv,TV"))
    assert sorted(os.listdir(tmp_path / "two")) == ["sv.csv", "tv.csv"]


def _hide_pyreadstat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyreadstat", None)


BAD_INPUT = {
    "unknown protocol": (("--protocol", "nope"), "unknown protocol 'nope'"),
    "unknown domain": (("--domains", "TA,XX"), "unknown SDTM domain XX"),
    "invalid study id": (("--study-id", "nct 1"), "is not a valid SDTM STUDYID"),
    "unwritable folder": (("--out", "{tmp}/old/ta.json/sub"), "cannot write into"),
    "folder is a file": (("--out", "{tmp}/old/ta.json"), "cannot write into"),
    "xpt without the extra": (("--format", "xpt"), "pip install 'planner[sdtm]'"),
    "unknown format": (("--format", "sas7bdat"), "'sas7bdat' is not one of"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_exit_2_and_leaves_the_folder_unchanged(
    scenario: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    old = tmp_path / "old"
    ok(export(scenario, old, "dataset-json", "--domains", "TA"))
    before = snapshot(tmp_path)
    if case == "xpt without the extra":
        _hide_pyreadstat(monkeypatch)
    options, message = BAD_INPUT[case]
    args = {"--protocol": "cs-huc-mscs", "--study-id": STUDY, "--out": str(old)}
    args.update({options[0]: options[1].format(tmp=tmp_path)})
    done = scenario(
        "export", "sdtm", *(part for pair in args.items() for part in pair), "--created", CREATED
    )
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.startswith("planner: error: ")
    assert len(done.stderr.splitlines()) == 1
    assert message in done.stderr
    assert snapshot(tmp_path) == before
    assert sorted(os.listdir(old)) == ["ta.json"]


def test_a_new_folder_is_not_left_behind_when_the_export_fails(
    scenario: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hide_pyreadstat(monkeypatch)
    done = export(scenario, tmp_path / "new", "xpt")
    assert done.exit_code == 2
    assert not (tmp_path / "new").exists()


def test_files_are_all_written_or_none(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"old")

    def failing() -> Iterator[bytes]:
        yield b"half"
        raise OSError("disk full")

    files = {"a.txt": iter([b"new"]), "b.txt": iter([b"b"]), "c.txt": failing()}
    with pytest.raises(OSError, match="disk full"):
        write_files_atomically(str(tmp_path), files, protect=set())
    assert snapshot(tmp_path) == {"a.txt": b"old"}
    sizes = write_files_atomically(str(tmp_path), {"a.txt": [b"new"], "b.txt": []}, protect=set())
    assert sizes == {"a.txt": 3, "b.txt": 0}
    assert snapshot(tmp_path) == {"a.txt": b"new", "b.txt": b""}
