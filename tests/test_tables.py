"""Tables for people (the terminal's width, counts in words, a legend under
flags), CSV separators named, `enroll --csv --skip-existing`, and progress
that only a terminal sees."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from planner.app import Planner
from planner.cli.tables import plural, table
from tests.conftest import dump

Cli = Callable[..., Any]
HEADER = "participant,protocol,arm,site,day1,weight_kg\n"


@pytest.fixture(autouse=True)
def _no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)


def ok(result: Any) -> str:
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


@pytest.fixture
def site(cli: Cli) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))


def test_plural() -> None:
    assert [plural(n, "visit") for n in (0, 1, 2)] == ["0 visits", "1 visit", "2 visits"]


def test_table_cuts_only_when_there_is_no_room() -> None:
    rows = [["2026-04-23", "In-hospital follow-up 1/4"]]
    assert table(["DATE", "WHAT"], rows, width=80).splitlines()[1].endswith("follow-up 1/4")
    assert (
        table(["DATE", "WHAT"], rows, width=30).splitlines()[1] == "2026-04-23  In-hospital follo…"
    )


@pytest.mark.usefixtures("site")
def test_labels_are_whole_on_a_wide_terminal(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    ok(cli("enroll", "C-1", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
           "--day1", "2026-03-02"))  # fmt: skip
    args = ("upcoming", "--from", "2026-03-05", "--days", "1")
    narrow = ok(cli(*args)).splitlines()
    monkeypatch.setenv("COLUMNS", "120")
    wide = ok(cli(*args)).splitlines()

    # C-1/IHFU/1: day 4 = 03-05, window 03-04..03-06
    assert narrow[1] == "2026-03-05        C-1/IHFU/1  In-hospital follow-up 1/4  03-04..03-06"
    assert wide == narrow  # it fits in 80 columns already
    assert narrow[2] == "1 visit, 1 participant"


@pytest.mark.usefixtures("site")
def test_a_deviation_flag_has_a_legend(cli: Cli) -> None:
    ok(cli("enroll", "U-1", "--protocol", "ucmsc-dlc", "--arm", "CTRL", "--site", "WUH",
           "--day1", "2026-03-02"))  # fmt: skip
    # FU/1: day 29 = 03-30, window 03-27..04-02; done on 04-05 is outside.
    ok(cli("visit", "complete", "U-1/FU/1", "--on", "2026-04-05"))

    lines = ok(cli("deviations")).splitlines()
    assert lines == [
        "DATE        TIME  VISIT     WHAT           WINDOW        STATUS",
        "2026-03-30        U-1/FU/1  Follow-up 1/5  03-27..04-02  done 2026-04-05 !",
        "! = done or moved outside its window (a protocol deviation)",
        "1 visit, 1 participant",
    ]
    schedule = ok(cli("schedule", "U-1")).splitlines()
    assert schedule[-1] == "! = done or moved outside its window (a protocol deviation)"
    assert "!" not in ok(cli("schedule", "U-1", "--format", "csv"))


# ------------------------------------------------------------- enrol from CSV


@pytest.mark.usefixtures("site")
@pytest.mark.parametrize(("separator", "words"), [(";", "semicolons (;)"), ("\t", "tabs")])
def test_a_csv_with_another_separator_is_named(
    cli: Cli, tmp_path: Path, db_path: Path, separator: str, words: str
) -> None:
    path = tmp_path / "people.csv"
    text = HEADER + "W-1,cs-huc-mscs,LOW,WUH,2026-03-02,\n"
    path.write_text(text.replace(",", separator), encoding="utf-8")
    before = dump(db_path)

    result = cli("enroll", "--csv", str(path))

    assert result.exit_code == 2
    assert result.stderr == (
        f"planner: error: {path} line 1: columns are separated by {words}; "
        "the file must be separated by commas (,)\n"
    )
    assert dump(db_path) == before


@pytest.fixture
def enrolled(cli: Cli, tmp_path: Path) -> Path:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    path = tmp_path / "first.csv"
    path.write_text(HEADER + "S-1,cs-huc-mscs,LOW,WUH,2026-03-02,62\n", encoding="utf-8")
    assert ok(cli("enroll", "--csv", str(path))) == f"enrolled 1 participant from {path}\n"
    return path


def test_skip_existing_skips_identical_rows(cli: Cli, tmp_path: Path, enrolled: Path) -> None:
    path = tmp_path / "again.csv"
    rows = "S-1,cs-huc-mscs,LOW,WUH,2026-03-02,62\nS-2,ucmsc-dlc,G1,WUH,2026-03-03,\n"
    path.write_text(HEADER + rows, encoding="utf-8")

    plain = cli("enroll", "--csv", str(path))
    assert plain.exit_code == 2
    assert plain.stderr == f"planner: error: {path} line 2: participant 'S-1' is already enrolled\n"

    out = ok(cli("enroll", "--csv", str(path), "--skip-existing"))
    assert out == f"enrolled 1 participant from {path} (1 already enrolled, skipped)\n"
    assert ok(cli("participants", "--format", "csv")).splitlines()[1:] == [
        "S-1,WUH,cs-huc-mscs,1,LOW,2026-03-02,on-study,,S-1/INF/1,2026-03-02,0,0,0,14",
        "S-2,WUH,ucmsc-dlc,1,G1,2026-03-03,on-study,,S-2/INF/1,2026-03-03,0,0,0,10",
    ]


def test_skip_existing_still_refuses_rows_that_differ(
    cli: Cli, tmp_path: Path, enrolled: Path, db_path: Path
) -> None:
    path = tmp_path / "differs.csv"
    rows = "S-3,ucmsc-dlc,G1,WUH,2026-03-03,\nS-1,cs-huc-mscs,MED,WUH,2026-03-02,\n"
    path.write_text(HEADER + rows, encoding="utf-8")
    before = dump(db_path)

    result = cli("enroll", "--csv", str(path), "--skip-existing")

    assert result.exit_code == 2
    assert result.stderr == (
        f"planner: error: {path} line 3: participant 'S-1' is already enrolled with "
        "arm LOW, not MED; weight 62 kg, not none\n"
    )
    assert dump(db_path) == before


def test_skip_existing_needs_csv(cli: Cli) -> None:
    result = cli("enroll", "X-1", "--skip-existing")
    assert result.exit_code == 2
    assert "--skip-existing applies to --csv only" in result.stderr


# ------------------------------------------------------------------ progress


def test_no_progress_bar_when_stderr_is_not_a_terminal(cli: Cli, tmp_path: Path) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    path = tmp_path / "many.csv"
    rows = "".join(f"M-{n:03d},ucmsc-dlc,G2,WUH,2026-03-02,\n" for n in range(250))
    path.write_text(HEADER + rows, encoding="utf-8")

    result = cli("enroll", "--csv", str(path))

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"enrolled 250 participants from {path}\n"


def test_the_library_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    rows = "".join(f"M-{n:03d},ucmsc-dlc,G2,WUH,2026-03-02,\n" for n in range(250))
    path.write_text(HEADER + rows, encoding="utf-8")
    seen: list[tuple[int, int]] = []
    with Planner("sqlite://", clock=lambda: datetime(2026, 3, 1)) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        done = planner.enroll_file(str(path), progress=lambda n, total: seen.append((n, total)))
    assert (done.enrolled, done.skipped) == (250, 0)
    assert seen == [(100, 250), (200, 250), (250, 250)]


def _on_a_terminal(db: Path, *args: str) -> tuple[int, str]:
    """Run the real ``planner`` with stderr on a pseudo-terminal; its exit code and stderr."""
    import os
    import pty
    import subprocess
    import sys

    main_fd, terminal = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-c", "from planner.cli import main; main()", "--db", str(db), *args],
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        timeout=120,
        check=False,
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(main_fd)
    return done.returncode, seen.decode("utf-8", "replace")


def test_progress_bars_on_a_terminal(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    path = tmp_path / "many.csv"
    rows = "".join(f"M-{n:03d},ucmsc-dlc,G2,WUH,2026-03-02,\n" for n in range(250))
    path.write_text(HEADER + rows, encoding="utf-8")
    code, shown = _on_a_terminal(db_path, "enroll", "--csv", str(path))
    assert code == 0 and "planning visits" in shown
    code, shown = _on_a_terminal(
        db_path, "site", "close", "WUH", "2026-03-30", "--to", "2026-04-02"
    )
    assert code == 0 and "re-planning" in shown
    out = tmp_path / "all.ics"
    code, shown = _on_a_terminal(db_path, "export", "ics", "--output", str(out))
    assert code == 0 and f"writing {out}" in shown and "MB" in shown
    # Not a terminal: only the one line saying what was written.
    again = cli("export", "ics", "--output", str(out), "--force")
    assert (again.exit_code, again.stderr) == (0, f"wrote {out} ({out.stat().st_size} bytes)\n")


def test_a_narrow_table_cuts_labels_then_ids_but_never_dates() -> None:
    headers = ["DATE", "VISIT", "WHAT", "WINDOW", "STATUS"]
    rows = [["2026-12-08", "NYC-002/INF/1", "Infusion 1/4", "12-07..12-09", "scheduled"]]
    label_cut = table(headers, rows, shrink=(2, 1), width=62).splitlines()[1]
    assert "NYC-002/INF/1" in label_cut and "Infusion …" in label_cut  # the label first
    narrow = table(headers, rows, shrink=(2, 1), width=50).splitlines()[1]
    assert narrow.startswith("2026-12-08  ") and "12-07..12-09" in narrow
    assert narrow.rstrip().endswith("scheduled") and len(narrow) <= 50
    wide = table(headers, rows, shrink=(2, 1), width=80).splitlines()[1]
    assert "NYC-002/INF/1" in wide and "Infusion 1/4" in wide
    # Nothing cuttable left: the table is wider than asked rather than cut a date.
    cramped = table(headers, rows, shrink=(2,), width=40).splitlines()[1]
    assert "2026-12-08" in cramped and "NYC-002/INF/1" in cramped and len(cramped) > 40
