"""`planner export ics` and `planner demo` through the real entry point.

Every file exported here goes through our own checks and the independent
parsers (vobject, ical, ical.js).
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import ics_checks
from tests.conftest import CliResult, dump
from tests.parsers import ical_spans, icaljs_spans, vobject_spans

Cli = Callable[..., CliResult]
IcalJs = Callable[[Path], list[dict[str, str]]]


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    return result


def export(cli: Cli, *args: str, db: Path) -> bytes:
    """The bytes of `planner export ics ARGS --output FILE`."""
    out = db.with_name(db.name + ".export.ics")
    ok(cli("export", "ics", *args, "--output", str(out), db=db))
    return out.read_bytes()


def check_everywhere(data: bytes, icaljs: IcalJs, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Our checks, then three independent parsers that must agree."""
    ics_checks.assert_valid(data)
    by_vobject = vobject_spans(data)
    by_ical = ical_spans(data)
    by_icaljs = icaljs_spans(icaljs, data, tmp_path)
    assert by_vobject == by_ical == by_icaljs
    return by_icaljs


def events(data: bytes) -> dict[str, dict[str, str]]:
    """UID -> {property: value} of each VEVENT (unfolded)."""
    text = data.decode().replace("\r\n ", "")
    found = {}
    for block in text.split("BEGIN:VEVENT\r\n")[1:]:
        body = block.split("END:VEVENT")[0]
        props = {}
        for line in body.split("\r\n"):
            if ":" in line:
                name, value = line.split(":", 1)
                props[name] = value
        found[props["UID"]] = props
    return found


def setup_site(cli: Cli, db: Path, site: str = "NYC", zone: str = "America/New_York") -> None:
    ok(cli("site", "add", site, "--timezone", zone, db=db))


# ------------------------------------------------------------------------ export


def test_new_york_infusions_stay_at_nine_across_the_dst_change(
    cli: Cli, db_path: Path, icaljs: IcalJs, tmp_path: Path
) -> None:
    setup_site(cli, db_path)
    ok(cli("enroll", "NYC-001", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "NYC",
           "--day1", "2026-03-02"))  # fmt: skip
    data = export(cli, "--participant", "NYC-001", db=db_path)
    text = data.decode()
    # 2026-03-08 is the change to daylight time in New York.
    for day in ("20260302", "20260309", "20260316"):
        assert f"DTSTART;TZID=America/New_York:{day}T090000\r\n" in text
        assert f"DTEND;TZID=America/New_York:{day}T110000\r\n" in text
    spans = check_everywhere(data, icaljs, tmp_path)
    starts = sorted(start for start, _ in spans.values() if "T" in start)
    assert starts == [
        "2026-03-02T14:00:00.000Z",  # EST, UTC-5
        "2026-03-09T13:00:00.000Z",  # EDT, UTC-4
        "2026-03-16T13:00:00.000Z",
    ]
    assert text.count("BEGIN:VTIMEZONE") == 1


def test_export_twice_gives_identical_bytes_on_stdout_and_in_files(cli: Cli, db_path: Path) -> None:
    setup_site(cli, db_path)
    ok(cli("enroll", "NYC-001", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "NYC",
           "--day1", "2026-03-02", "--weight-kg", "70"))  # fmt: skip
    # The installed command, so stdout is the real byte stream (CRLF intact).
    command = [sys.executable, "-c", "from planner.cli import main; main()", "--db", str(db_path)]
    first = subprocess.run([*command, "export", "ics"], capture_output=True, check=True).stdout
    second = subprocess.run([*command, "export", "ics"], capture_output=True, check=True).stdout
    assert first == second
    assert first.startswith(b"BEGIN:VCALENDAR\r\n")
    assert export(cli, db=db_path) == export(cli, db=db_path) == first


def test_rebuilding_the_database_from_the_same_inputs_gives_the_same_uids(
    cli: Cli, tmp_path: Path
) -> None:
    uids = []
    for name in ("one.db", "two.db"):
        db = tmp_path / name
        setup_site(cli, db, "WUH", "Asia/Shanghai")
        ok(cli("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
               "--day1", "2026-04-20", db=db))  # fmt: skip
        ok(cli("enroll", "WUH-002", "--protocol", "ucmsc-dlc", "--arm", "CTRL", "--site", "WUH",
               "--day1", "2026-04-21", db=db))  # fmt: skip
        uids.append(sorted(events(export(cli, db=db))))
    assert uids[0] == uids[1]
    assert len(uids[0]) == 14 + 6


def test_moving_and_dying_raise_sequence_and_keep_uids(
    cli: Cli, db_path: Path, icaljs: IcalJs, tmp_path: Path
) -> None:
    setup_site(cli, db_path, "WUH", "Asia/Shanghai")
    ok(cli("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
           "--day1", "2026-04-20"))  # fmt: skip
    before = events(export(cli, db=db_path))
    ok(cli("visit", "move", "WUH-001/FU/4", "--to", "2026-10-08", "--reason", "travel"))
    moved = events(export(cli, db=db_path))
    assert set(moved) == set(before)
    changed = {uid for uid in moved if moved[uid]["SEQUENCE"] != before[uid]["SEQUENCE"]}
    summaries = sorted(moved[uid]["SUMMARY"] for uid in changed)
    assert summaries == [
        "WUH-001 · Follow-up 4/4 · MED",
        "WUH-001 · Survival call 1/3 · MED",
        "WUH-001 · Survival call 2/3 · MED",
        "WUH-001 · Survival call 3/3 · MED",
    ]
    assert all(moved[uid]["SEQUENCE"] == "1" for uid in changed)

    ok(cli("participant", "died", "WUH-001", "--on", "2026-05-05"))
    after = events(export(cli, db=db_path))
    assert set(after) == set(before), "cancelled visits stay in the export"
    cancelled = {uid for uid, props in after.items() if props.get("STATUS") == "CANCELLED"}
    # Everything after 2026-05-05: IHFU 3 and 4, FU 1-4, SURV 1-3.
    assert len(cancelled) == 9
    for uid in cancelled:
        assert int(after[uid]["SEQUENCE"]) == int(moved[uid]["SEQUENCE"]) + 1
    kept = set(after) - cancelled
    assert all(after[uid]["STATUS"] == "CONFIRMED" for uid in kept)
    check_everywhere(export(cli, db=db_path), icaljs, tmp_path)
    without = events(export(cli, "--no-include-cancelled", db=db_path))
    assert set(without) == kept


def test_filters_and_alarm(cli: Cli, db_path: Path, icaljs: IcalJs, tmp_path: Path) -> None:
    setup_site(cli, db_path, "WUH", "Asia/Shanghai")
    setup_site(cli, db_path, "NYC", "America/New_York")
    ok(cli("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
           "--day1", "2026-04-20"))  # fmt: skip
    ok(cli("enroll", "NYC-001", "--protocol", "ucmsc-dlc", "--arm", "G2", "--site", "NYC",
           "--day1", "2026-04-20"))  # fmt: skip
    site = events(export(cli, "--site", "NYC", db=db_path))
    assert {p["SUMMARY"].split(" · ")[0] for p in site.values()} == {"NYC-001"}
    window = events(export(cli, "--from", "2026-04-21", "--to", "2026-04-30", db=db_path))
    assert sorted(p["SUMMARY"] for p in window.values()) == [
        "NYC-001 · Infusion 2/2 · G2",
        "WUH-001 · In-hospital follow-up 1/4 · MED",
        "WUH-001 · In-hospital follow-up 2/4 · MED",
        "WUH-001 · Infusion 2/3 · MED",
    ]
    protocol = events(export(cli, "--protocol", "ucmsc-dlc", db=db_path))
    assert len(protocol) == 8
    data = export(cli, "--participant", "WUH-001", "--alarm", "1h", db=db_path)
    assert data.count(b"BEGIN:VALARM") == 14
    assert b"TRIGGER:-PT1H" in data
    check_everywhere(data, icaljs, tmp_path)


def test_from_and_to_take_the_day_a_visit_is_shown_on(
    cli: Cli, db_path: Path, icaljs: IcalJs, tmp_path: Path
) -> None:
    """A completed visit is drawn on the day it happened: the date range of an
    export is on that day too, not on the day it was planned."""
    setup_site(cli, db_path, "WUH", "Asia/Shanghai")
    ok(cli("enroll", "P1", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH",
           "--day1", "2026-03-02"))  # fmt: skip
    ok(cli("visit", "complete", "P1/INF/1", "--on", "2026-03-03"))  # planned 03-02
    ok(cli("visit", "complete", "P1/INF/2", "--on", "2026-03-08"))  # planned 03-07 by then

    def starts(*args: str) -> list[str]:
        data = export(cli, "--participant", "P1", *args, db=db_path)
        check_everywhere(data, icaljs, tmp_path)
        return sorted(p["DTSTART;VALUE=DATE"] for p in events(data).values()
                      if "DTSTART;VALUE=DATE" in p)  # fmt: skip

    assert starts("--from", "2026-03-08", "--to", "2026-03-08") == ["20260308"]
    assert starts("--to", "2026-03-07") == ["20260303"]
    assert starts("--from", "2026-03-03", "--to", "2026-03-03") == ["20260303"]
    assert starts("--from", "2026-03-02", "--to", "2026-03-02") == []


def test_a_calendar_with_no_visits_still_holds_a_component(
    cli: Cli, db_path: Path, icaljs: IcalJs, tmp_path: Path
) -> None:
    """RFC 5545 wants at least one component: a new site's calendar (or feed)
    has no visit yet, so it holds a UTC time zone that nothing uses."""
    setup_site(cli, db_path, "WUH", "Asia/Shanghai")
    data = export(cli, "--site", "WUH", db=db_path)
    assert b"BEGIN:VEVENT" not in data and data.count(b"BEGIN:VTIMEZONE") == 1
    assert check_everywhere(data, icaljs, tmp_path) == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--alarm", "soon"), "is not a duration"),
        (("--from", "2026-05-01", "--to", "2026-04-01"), "is before --from"),
        (("--participant", "NOPE"), "unknown participant 'NOPE'"),
        (("--site", "NOPE"), "unknown site 'NOPE'"),
        (("--protocol", "nope"), "unknown protocol 'nope'"),
    ],
)
def test_export_errors(cli: Cli, db_path: Path, args: tuple[str, ...], message: str) -> None:
    setup_site(cli, db_path)
    result = cli("export", "ics", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_export_refuses_to_overwrite_the_database(cli: Cli, db_path: Path) -> None:
    setup_site(cli, db_path)
    before = db_path.read_bytes()
    result = cli("export", "ics", "--output", str(db_path))
    assert result.exit_code == 2
    assert "is the database itself" in result.stderr
    assert db_path.read_bytes() == before


# -------------------------------------------------------------------------- demo


def test_demo_twice_writes_valid_calendars_and_duplicates_nothing(
    cli: Cli, db_path: Path, icaljs: IcalJs, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = ok(cli("demo", "--out", str(out), "--today", "2026-03-05"))
    assert "12 participants enrolled" in first.stdout
    assert "Visits due in the 14 days from 2026-03-05:" in first.stdout
    table = first.stdout.split("Visits due")[1]
    dates = re.findall(r"^(\d{4}-\d{2}-\d{2})  ", table, flags=re.MULTILINE)
    assert dates, "the demo lists visits due in the next 14 days"
    assert dates == sorted(dates)
    assert all("2026-03-05" <= day <= "2026-03-18" for day in dates)
    assert max(len(line) for line in table.split("\n\nwrote")[0].splitlines()) <= 80
    files = {path.name: path.read_bytes() for path in sorted(out.glob("*.ics"))}
    assert sorted(files) == ["NYC.ics", "WUH.ics"]

    second = ok(cli("demo", "--out", str(out), "--today", "2026-03-05"))
    assert "0 participants enrolled (12 were there already)" in second.stdout
    assert {path.name: path.read_bytes() for path in out.glob("*.ics")} == files
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT count(*) FROM participants").fetchone()[0] == 12
        assert connection.execute("SELECT count(*) FROM sites").fetchone()[0] == 2

    for name, data in files.items():
        spans = check_everywhere(data, icaljs, tmp_path)
        assert len(spans) == data.count(b"BEGIN:VEVENT") > 0, name
    ny = files["NYC.ics"].decode()
    assert "TZID:America/New_York" in ny and "DTSTART;TZID=America/New_York:" in ny
    assert "TZID:Asia/Shanghai" in files["WUH.ics"].decode()


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        # A real trial's database: made-up participants and a login with access to
        # every site have no place in it.
        (("site", "add", "BER", "--timezone", "Europe/Berlin"), (),
         "planner demo enrols made-up participants and adds a login: it runs only on an "
         "empty database or one it made, and this one holds 'BER'; give it another with "
         "--db (for example --db demo.db)"),
        (("site", "add", "WUH", "--timezone", "Asia/Shanghai", "--name", "Zhongnan"), (),
         "this one holds 'WUH'"),
        (("user", "add", "ana", "--role", "viewer", "--all-sites"), (), "this one holds 'ana'"),
        # Options are checked before anything is written.
        (None, ("--out", "notes.txt"), "--out 'notes.txt' is not a folder"),
        (None, ("--out", "notes.txt/calendars"), "cannot make the --out folder"),
        (None, ("--today", "1900-01-01"),
         "--today 1900-01-01 puts the demo's days 1 outside 1900-2200"),
    ],
)  # fmt: skip
def test_demo_refuses_a_real_database_and_bad_options_writing_nothing(
    cli: Cli,
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup: tuple[str, ...] | None,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("a coordinator's notes")
    if setup is not None:
        ok(cli(*setup))
    ok(cli("site", "list"))  # the database exists (empty or not) before the demo
    before = dump(db_path)

    result = cli("demo", *args)

    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("planner: error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert dump(db_path) == before
    assert (tmp_path / "notes.txt").read_text() == "a coordinator's notes"


def test_demo_runs_again_on_its_database_after_more_was_added(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    out = str(tmp_path / "out")
    ok(cli("demo", "--out", out, "--today", "2026-03-05"))
    ok(cli("site", "add", "BER", "--timezone", "Europe/Berlin"))
    ok(cli("enroll", "BER-001", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "BER",
           "--day1", "2026-03-02"))  # fmt: skip
    again = ok(cli("demo", "--out", out, "--today", "2026-03-05"))
    assert "0 participants enrolled (12 were there already)" in again.stdout
