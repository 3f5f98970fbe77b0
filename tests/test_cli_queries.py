"""Schedules, upcoming and overdue visits, through the real CLI on a real SQLite file.

Every expected date below was worked out by hand from the two bundled protocols
(ucmsc-dlc: infusions every 4 or 7 days from the previous one, follow-ups in
weeks 4, 12, 24, 36, 48, a survival call at 12 months; cs-huc-mscs: infusions
on days 1, 8, 15 at 09:00, in-hospital follow-ups on days 4, 11, 18, 22,
follow-ups on days 29, 57, 85, 169, survival calls 6, 12 and 18 months after
the day-169 follow-up), never taken from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from planner.cli import main

Cli = Callable[..., Any]

#: The keys SPEC §6 requires in every JSON visit object.
SPEC_KEYS = {
    "visit_id",
    "participant",
    "site",
    "protocol",
    "arm",
    "event",
    "label",
    "kind",
    "occurrence",
    "study_day",
    "target",
    "window_start",
    "window_end",
    "time",
    "timezone",
    "status",
    "actual",
    "deviation",
    "uid",
}

SITES = [("WUH", "Asia/Shanghai"), ("NYC", "America/New_York")]

#: (participant, protocol, arm, site, day1): every arm of both bundled protocols.
PARTICIPANTS = [
    ("U-G1-01", "ucmsc-dlc", "G1", "WUH", "2026-03-02"),
    ("U-G2-01", "ucmsc-dlc", "G2", "NYC", "2026-03-02"),
    ("U-CT-01", "ucmsc-dlc", "CTRL", "WUH", "2026-03-02"),
    ("C-MED-01", "cs-huc-mscs", "MED", "WUH", "2026-04-20"),
    ("C-LOW-01", "cs-huc-mscs", "LOW", "NYC", "2026-03-30"),
    ("C-HIGH-01", "cs-huc-mscs", "HIGH", "WUH", "2026-03-27"),
    ("U-G1-02", "ucmsc-dlc", "G1", "NYC", "2026-03-25"),
    ("U-G2-02", "ucmsc-dlc", "G2", "NYC", "2026-03-17"),
    ("U-CT-02", "ucmsc-dlc", "CTRL", "NYC", "2026-03-10"),
    ("U-CT-03", "ucmsc-dlc", "CTRL", "WUH", "2026-03-11"),
]

# (visit id suffix, target, window start, window end, time, study day)
UCMSC_FOLLOW_UP_FROM_0302 = [
    ("FU/1", "2026-03-30", "2026-03-27", "2026-04-02", None, 29),
    ("FU/2", "2026-05-25", "2026-05-18", "2026-06-01", None, 85),
    ("FU/3", "2026-08-17", "2026-08-10", "2026-08-24", None, 169),
    ("FU/4", "2026-11-09", "2026-11-02", "2026-11-16", None, 253),
    ("FU/5", "2027-02-01", "2027-01-25", "2027-02-08", None, 337),
    ("SURV/1", "2027-03-02", "2027-02-16", "2027-03-16", None, 366),
]

EXPECTED_SCHEDULES = {
    "U-G1-01": [
        ("INF/1", "2026-03-02", "2026-03-01", "2026-03-03", None, 1),
        ("INF/2", "2026-03-06", "2026-03-05", "2026-03-07", None, 5),
        ("INF/3", "2026-03-10", "2026-03-09", "2026-03-11", None, 9),
        ("INF/4", "2026-03-14", "2026-03-13", "2026-03-15", None, 13),
        *UCMSC_FOLLOW_UP_FROM_0302,
    ],
    "U-G2-01": [
        ("INF/1", "2026-03-02", "2026-03-01", "2026-03-03", None, 1),
        ("INF/2", "2026-03-09", "2026-03-08", "2026-03-10", None, 8),
        *UCMSC_FOLLOW_UP_FROM_0302,
    ],
    "U-CT-01": UCMSC_FOLLOW_UP_FROM_0302,
    "C-MED-01": [
        ("INF/1", "2026-04-20", "2026-04-19", "2026-04-21", "09:00", 1),
        ("IHFU/1", "2026-04-23", "2026-04-22", "2026-04-24", None, 4),
        ("INF/2", "2026-04-27", "2026-04-26", "2026-04-28", "09:00", 8),
        ("IHFU/2", "2026-04-30", "2026-04-29", "2026-05-01", None, 11),
        ("INF/3", "2026-05-04", "2026-05-03", "2026-05-05", "09:00", 15),
        ("IHFU/3", "2026-05-07", "2026-05-06", "2026-05-08", None, 18),
        ("IHFU/4", "2026-05-11", "2026-05-10", "2026-05-12", None, 22),
        ("FU/1", "2026-05-18", "2026-05-15", "2026-05-21", None, 29),
        ("FU/2", "2026-06-15", "2026-06-10", "2026-06-20", None, 57),
        ("FU/3", "2026-07-13", "2026-07-06", "2026-07-20", None, 85),
        ("FU/4", "2026-10-05", "2026-09-28", "2026-10-12", None, 169),
        ("SURV/1", "2027-04-05", "2027-03-22", "2027-04-19", None, 351),
        ("SURV/2", "2027-10-05", "2027-09-21", "2027-10-19", None, 534),
        ("SURV/3", "2028-04-05", "2028-03-22", "2028-04-19", None, 717),
    ],
    "C-LOW-01": [
        ("INF/1", "2026-03-30", "2026-03-29", "2026-03-31", "09:00", 1),
        ("IHFU/1", "2026-04-02", "2026-04-01", "2026-04-03", None, 4),
        ("INF/2", "2026-04-06", "2026-04-05", "2026-04-07", "09:00", 8),
        ("IHFU/2", "2026-04-09", "2026-04-08", "2026-04-10", None, 11),
        ("INF/3", "2026-04-13", "2026-04-12", "2026-04-14", "09:00", 15),
        ("IHFU/3", "2026-04-16", "2026-04-15", "2026-04-17", None, 18),
        ("IHFU/4", "2026-04-20", "2026-04-19", "2026-04-21", None, 22),
        ("FU/1", "2026-04-27", "2026-04-24", "2026-04-30", None, 29),
        ("FU/2", "2026-05-25", "2026-05-20", "2026-05-30", None, 57),
        ("FU/3", "2026-06-22", "2026-06-15", "2026-06-29", None, 85),
        ("FU/4", "2026-09-14", "2026-09-07", "2026-09-21", None, 169),
        ("SURV/1", "2027-03-14", "2027-02-28", "2027-03-28", None, 350),
        ("SURV/2", "2027-09-14", "2027-08-31", "2027-09-28", None, 534),
        ("SURV/3", "2028-03-14", "2028-02-29", "2028-03-28", None, 716),
    ],
    "C-HIGH-01": [
        ("INF/1", "2026-03-27", "2026-03-26", "2026-03-28", "09:00", 1),
        ("IHFU/1", "2026-03-30", "2026-03-29", "2026-03-31", None, 4),
        ("INF/2", "2026-04-03", "2026-04-02", "2026-04-04", "09:00", 8),
        ("IHFU/2", "2026-04-06", "2026-04-05", "2026-04-07", None, 11),
        ("INF/3", "2026-04-10", "2026-04-09", "2026-04-11", "09:00", 15),
        ("IHFU/3", "2026-04-13", "2026-04-12", "2026-04-14", None, 18),
        ("IHFU/4", "2026-04-17", "2026-04-16", "2026-04-18", None, 22),
        ("FU/1", "2026-04-24", "2026-04-21", "2026-04-27", None, 29),
        ("FU/2", "2026-05-22", "2026-05-17", "2026-05-27", None, 57),
        ("FU/3", "2026-06-19", "2026-06-12", "2026-06-26", None, 85),
        ("FU/4", "2026-09-11", "2026-09-04", "2026-09-18", None, 169),
        ("SURV/1", "2027-03-11", "2027-02-25", "2027-03-25", None, 350),
        ("SURV/2", "2027-09-11", "2027-08-28", "2027-09-25", None, 534),
        ("SURV/3", "2028-03-11", "2028-02-26", "2028-03-25", None, 716),
    ],
}

#: upcoming --from 2026-03-25 --days 14 (2026-03-25 .. 2026-04-07), both sites:
#: by date, then time (date-only visits before timed ones), then participant.
#: Just outside: U-G2-02/INF/2 on 03-24 and U-CT-03/FU/1 on 04-08.
EXPECTED_UPCOMING = [
    ("U-G1-02/INF/1", "2026-03-25", None),
    ("C-HIGH-01/INF/1", "2026-03-27", "09:00"),
    ("U-G1-02/INF/2", "2026-03-29", None),
    ("C-HIGH-01/IHFU/1", "2026-03-30", None),
    ("U-CT-01/FU/1", "2026-03-30", None),
    ("U-G1-01/FU/1", "2026-03-30", None),
    ("U-G2-01/FU/1", "2026-03-30", None),
    ("C-LOW-01/INF/1", "2026-03-30", "09:00"),
    ("C-LOW-01/IHFU/1", "2026-04-02", None),
    ("U-G1-02/INF/3", "2026-04-02", None),
    ("C-HIGH-01/INF/2", "2026-04-03", "09:00"),
    ("C-HIGH-01/IHFU/2", "2026-04-06", None),
    ("U-G1-02/INF/4", "2026-04-06", None),
    ("C-LOW-01/INF/2", "2026-04-06", "09:00"),
    ("U-CT-02/FU/1", "2026-04-07", None),
]

EXPECTED_UPCOMING_NYC = [
    ("U-G1-02/INF/1", "2026-03-25", None),
    ("U-G1-02/INF/2", "2026-03-29", None),
    ("U-G2-01/FU/1", "2026-03-30", None),
    ("C-LOW-01/INF/1", "2026-03-30", "09:00"),
    ("C-LOW-01/IHFU/1", "2026-04-02", None),
    ("U-G1-02/INF/3", "2026-04-02", None),
    ("U-G1-02/INF/4", "2026-04-06", None),
    ("C-LOW-01/INF/2", "2026-04-06", "09:00"),
    ("U-CT-02/FU/1", "2026-04-07", None),
]

UPCOMING_WINDOW = ("--from", "2026-03-25", "--days", "14")


def _invoke(db: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [f"--db={db}", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def enrolled_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with both sites and every participant, enrolled through the CLI once."""
    path = tmp_path_factory.mktemp("enrolled") / "template.db"
    for code, zone in SITES:
        _invoke(path, "site", "add", code, "--timezone", zone)
    for participant, protocol, arm, site, day1 in PARTICIPANTS:
        _invoke(
            path,
            "enroll",
            participant,
            "--protocol",
            protocol,
            "--arm",
            arm,
            "--site",
            site,
            "--day1",
            day1,
        )
    return path


@pytest.fixture
def enrolled(enrolled_template: Path, db_path: Path) -> Iterator[Path]:
    """This test's own copy of the enrolled database."""
    source = sqlite3.connect(enrolled_template)
    target = sqlite3.connect(db_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    yield db_path


def as_json(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


def brief(visits: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(v["visit_id"], v["target"], v["time"]) for v in visits]


# ---------------------------------------------------------------- schedule


@pytest.mark.parametrize("participant", sorted(EXPECTED_SCHEDULES))
def test_schedule_json_lists_exactly_the_expected_visits(
    cli: Cli, enrolled: Path, participant: str
) -> None:
    visits = as_json(cli("schedule", participant, "--format", "json"))

    got = [
        (
            v["visit_id"],
            v["target"],
            v["window_start"],
            v["window_end"],
            v["time"],
            v["study_day"],
        )
        for v in visits
    ]
    expected = [
        (f"{participant}/{suffix}", target, start, end, time, day)
        for suffix, target, start, end, time, day in EXPECTED_SCHEDULES[participant]
    ]
    assert got == expected


@pytest.mark.parametrize(
    ("participant", "protocol", "arm", "site", "zone"),
    [
        ("U-G1-01", "ucmsc-dlc", "G1", "WUH", "Asia/Shanghai"),
        ("U-G2-01", "ucmsc-dlc", "G2", "NYC", "America/New_York"),
        ("U-CT-01", "ucmsc-dlc", "CTRL", "WUH", "Asia/Shanghai"),
        ("C-LOW-01", "cs-huc-mscs", "LOW", "NYC", "America/New_York"),
        ("C-MED-01", "cs-huc-mscs", "MED", "WUH", "Asia/Shanghai"),
        ("C-HIGH-01", "cs-huc-mscs", "HIGH", "WUH", "Asia/Shanghai"),
    ],
)
def test_schedule_json_carries_every_spec_key(
    cli: Cli, enrolled: Path, participant: str, protocol: str, arm: str, site: str, zone: str
) -> None:
    visits = as_json(cli("schedule", participant, "--format", "json"))

    for visit in visits:
        assert set(visit) >= SPEC_KEYS, SPEC_KEYS - set(visit)
        participant_, event, occurrence = visit["visit_id"].split("/")
        assert participant_ == visit["participant"] == participant
        assert visit["event"] == event
        assert visit["occurrence"] == int(occurrence)
        assert (visit["site"], visit["protocol"], visit["arm"]) == (site, protocol, arm)
        assert visit["timezone"] == zone
        assert visit["status"] == "scheduled"
        assert visit["actual"] is None
        assert visit["deviation"] is False
        assert visit["uid"].endswith("@planner")
    assert len({v["uid"] for v in visits}) == len(visits)
    # Occurrences are 1-based and consecutive within each event.
    by_event: dict[str, list[int]] = {}
    for visit in visits:
        by_event.setdefault(visit["event"], []).append(visit["occurrence"])
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in by_event.values())


def test_schedule_json_labels_and_kinds(cli: Cli, enrolled: Path) -> None:
    kinds = {
        (v["event"], v["label"], v["kind"])
        for participant in ("U-G1-01", "C-MED-01")
        for v in as_json(cli("schedule", participant, "--format", "json"))
    }

    assert kinds == {
        ("INF", "Infusion", "infusion"),
        ("FU", "Follow-up", "visit"),
        ("SURV", "Survival check", "call"),
        ("IHFU", "In-hospital follow-up", "visit"),
        ("SURV", "Survival call", "call"),
    }


def test_one_visit_as_json_in_full(cli: Cli, enrolled: Path) -> None:
    visits = as_json(cli("schedule", "C-LOW-01", "--format", "json"))
    visit = {key: visits[0][key] for key in SPEC_KEYS}

    uid = visit.pop("uid")
    assert visit == {
        "visit_id": "C-LOW-01/INF/1",
        "participant": "C-LOW-01",
        "site": "NYC",
        "protocol": "cs-huc-mscs",
        "arm": "LOW",
        "event": "INF",
        "label": "Infusion",
        "kind": "infusion",
        "occurrence": 1,
        "study_day": 1,
        "target": "2026-03-30",
        "window_start": "2026-03-29",
        "window_end": "2026-03-31",
        "time": "09:00",
        "timezone": "America/New_York",
        "status": "scheduled",
        "actual": None,
        "deviation": False,
    }
    assert uid.endswith("@planner")


def test_uid_is_the_same_in_another_database(cli: Cli, enrolled: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    assert cli("site", "add", "XYZ", "--timezone", "UTC", db=other).exit_code == 0
    enrolled_again = cli(
        "enroll",
        "C-LOW-01",
        "--protocol",
        "cs-huc-mscs",
        "--arm",
        "LOW",
        "--site",
        "XYZ",
        "--day1",
        "2026-05-01",
        db=other,
    )
    assert enrolled_again.exit_code == 0, enrolled_again.stderr

    here = as_json(cli("schedule", "C-LOW-01", "--format", "json"))
    there = as_json(cli("schedule", "C-LOW-01", "--format", "json", db=other))

    assert [v["uid"] for v in here] == [v["uid"] for v in there]


def test_study_day_is_that_of_the_target_after_a_move(cli: Cli, enrolled: Path) -> None:
    moved = cli("visit", "move", "U-G1-01/FU/2", "--to", "2026-05-27", "--reason", "holiday")
    assert moved.exit_code == 0, moved.stderr

    visits = {v["visit_id"]: v for v in as_json(cli("schedule", "U-G1-01", "--format", "json"))}

    assert visits["U-G1-01/FU/2"]["target"] == "2026-05-27"
    assert visits["U-G1-01/FU/2"]["study_day"] == 87
    assert visits["U-G1-01/FU/2"]["deviation"] is False
    assert visits["U-G1-01/FU/3"]["target"] == "2026-08-17"


def test_schedule_csv_has_a_header_and_one_row_per_visit(cli: Cli, enrolled: Path) -> None:
    result = cli("schedule", "C-MED-01", "--format", "csv")
    assert result.exit_code == 0, result.stderr

    reader = csv.DictReader(io.StringIO(result.stdout))
    rows = list(reader)

    assert reader.fieldnames is not None
    assert set(reader.fieldnames) >= SPEC_KEYS
    assert result.stdout.splitlines()[0] == ",".join(reader.fieldnames)
    assert [r["visit_id"] for r in rows] == [
        f"C-MED-01/{suffix}" for suffix, *_ in EXPECTED_SCHEDULES["C-MED-01"]
    ]
    assert [r["target"] for r in rows] == [t for _, t, *_ in EXPECTED_SCHEDULES["C-MED-01"]]
    assert rows[0]["time"] == "09:00"
    assert rows[1]["time"] == ""
    assert rows[0]["study_day"] == "1"
    assert rows[0]["occurrence"] == "1"
    assert {r["deviation"] for r in rows} == {"false"}
    assert {r["status"] for r in rows} == {"scheduled"}


@pytest.mark.parametrize("participant", sorted(EXPECTED_SCHEDULES))
def test_schedule_table_fits_80_columns(cli: Cli, enrolled: Path, participant: str) -> None:
    result = cli("schedule", participant)
    assert result.exit_code == 0, result.stderr

    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert lines[0].startswith(f"{participant} · ")  # the participant's status line
    assert lines[1].split() == ["DATE", "TIME", "VISIT", "WHAT", "WINDOW", "STATUS"]
    dated = [line for line in lines[1:] if line[:4].isdigit()]
    assert [line.split()[0] for line in dated] == [
        target for _, target, *_ in EXPECTED_SCHEDULES[participant]
    ]
    for line, (suffix, *_) in zip(dated, EXPECTED_SCHEDULES[participant], strict=True):
        assert f"{participant}/{suffix}" in line


def test_schedule_table_fits_80_columns_with_the_longest_allowed_code(
    cli: Cli, enrolled: Path
) -> None:
    code = "L" * 64  # participant codes may be 64 characters long
    result = cli(
        "enroll",
        code,
        "--protocol",
        "cs-huc-mscs",
        "--arm",
        "LOW",
        "--site",
        "WUH",
        "--day1",
        "2026-03-02",
    )
    assert result.exit_code == 0, result.stderr

    for args in (("schedule", code), ("upcoming", "--from", "2026-03-01")):
        shown = cli(*args)
        assert shown.exit_code == 0, shown.stderr
        too_wide = [line for line in shown.stdout.splitlines() if len(line) > 80]
        assert too_wide == []


def test_schedule_of_an_unknown_participant(cli: Cli, enrolled: Path) -> None:
    result = cli("schedule", "NOBODY", "--format", "json")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "planner: error: unknown participant 'NOBODY'\n"


# ---------------------------------------------------------------- upcoming


def test_upcoming_json_is_exactly_the_window_sorted(cli: Cli, enrolled: Path) -> None:
    visits = as_json(cli("upcoming", *UPCOMING_WINDOW, "--format", "json"))

    assert brief(visits) == EXPECTED_UPCOMING
    assert all(set(v) >= SPEC_KEYS for v in visits)
    assert {v["status"] for v in visits} == {"scheduled"}


def test_upcoming_json_for_one_site(cli: Cli, enrolled: Path) -> None:
    visits = as_json(cli("upcoming", *UPCOMING_WINDOW, "--site", "NYC", "--format", "json"))

    assert brief(visits) == EXPECTED_UPCOMING_NYC
    assert {v["site"] for v in visits} == {"NYC"}


def test_upcoming_one_day(cli: Cli, enrolled: Path) -> None:
    visits = as_json(cli("upcoming", "--from", "2026-03-30", "--days", "1", "--format", "json"))

    assert brief(visits) == [v for v in EXPECTED_UPCOMING if v[1] == "2026-03-30"]


def test_upcoming_filters(cli: Cli, enrolled: Path) -> None:
    infusions = as_json(cli("upcoming", *UPCOMING_WINDOW, "--kind", "infusion", "--format", "json"))
    high = as_json(
        cli(
            "upcoming",
            *UPCOMING_WINDOW,
            "--protocol",
            "cs-huc-mscs",
            "--arm",
            "HIGH",
            "--format",
            "json",
        )
    )
    ucmsc = as_json(
        cli("upcoming", *UPCOMING_WINDOW, "--protocol", "ucmsc-dlc", "--format", "json")
    )

    assert brief(infusions) == [v for v in EXPECTED_UPCOMING if "/INF/" in v[0]]
    assert brief(high) == [v for v in EXPECTED_UPCOMING if v[0].startswith("C-HIGH-01/")]
    assert brief(ucmsc) == [v for v in EXPECTED_UPCOMING if v[0].startswith("U-")]


def test_upcoming_csv(cli: Cli, enrolled: Path) -> None:
    result = cli("upcoming", *UPCOMING_WINDOW, "--format", "csv")
    assert result.exit_code == 0, result.stderr

    rows = list(csv.DictReader(io.StringIO(result.stdout)))

    assert [(r["visit_id"], r["target"], r["time"] or None) for r in rows] == EXPECTED_UPCOMING
    assert len(result.stdout.splitlines()) == 1 + len(EXPECTED_UPCOMING)


def test_upcoming_table_is_sorted_and_fits_80_columns(cli: Cli, enrolled: Path) -> None:
    result = cli("upcoming", *UPCOMING_WINDOW)
    assert result.exit_code == 0, result.stderr

    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    # visits from several sites: the table names the site of each
    assert lines[0].split() == ["DATE", "TIME", "SITE", "VISIT", "WHAT", "WINDOW"]
    assert len(lines) == 1 + len(EXPECTED_UPCOMING) + 1
    assert lines[-1] == "15 visits, 7 participants"  # U-G1-02, C-HIGH-01, U-CT-01, U-G1-01,
    # U-G2-01, C-LOW-01, U-CT-02
    sites = {v["visit_id"]: v["site"] for v in as_json(cli("upcoming", *UPCOMING_WINDOW,
                                                           "--format", "json"))}  # fmt: skip
    assert len(set(sites.values())) > 1
    for line, (visit_id, target, time) in zip(lines[1:-1], EXPECTED_UPCOMING, strict=True):
        site = sites[visit_id].ljust(max(4, *map(len, sites.values())))
        assert line.startswith(f"{target}  {time or '     '}  {site}  {visit_id} ")


def test_a_one_site_table_has_no_site_column(cli: Cli, enrolled: Path) -> None:
    one_site = as_json(cli("upcoming", *UPCOMING_WINDOW, "--format", "json"))[0]["site"]
    lines = cli("upcoming", *UPCOMING_WINDOW, "--site", one_site).stdout.splitlines()
    assert lines[0].split() == ["DATE", "TIME", "VISIT", "WHAT", "WINDOW"]


def test_upcoming_leaves_out_visits_no_longer_scheduled(cli: Cli, enrolled: Path) -> None:
    assert cli("visit", "miss", "U-G1-02/INF/1").exit_code == 0

    visits = as_json(cli("upcoming", *UPCOMING_WINDOW, "--format", "json"))

    assert brief(visits) == EXPECTED_UPCOMING[1:]


# ----------------------------------------------------------------- overdue


@pytest.fixture
def overdue_db(cli: Cli) -> None:
    """Three participants; as of 2026-03-15 some windows have ended.

    OV-A (G1, WUH, day 1 03-02): INF 03-02 (window to 03-03, completed),
    INF 03-06 (to 03-07, missed), INF 03-10 (to 03-11, overdue), INF 03-14
    (window ends 03-15, ON the date: not overdue).
    OV-B (G2, NYC, day 1 03-05): withdrawn on 03-04, so INF 03-05 and 03-12 are
    cancelled. OV-C (LOW, NYC, day 1 03-09): INF 03-09 09:00 (to 03-10) and IHFU
    03-12 (to 03-13) overdue; INF 03-16 (from 03-15) not.
    """
    for code, zone in SITES:
        assert cli("site", "add", code, "--timezone", zone).exit_code == 0
    for participant, protocol, arm, site, day1 in [
        ("OV-A", "ucmsc-dlc", "G1", "WUH", "2026-03-02"),
        ("OV-B", "ucmsc-dlc", "G2", "NYC", "2026-03-05"),
        ("OV-C", "cs-huc-mscs", "LOW", "NYC", "2026-03-09"),
    ]:
        result = cli(
            "enroll",
            participant,
            "--protocol",
            protocol,
            "--arm",
            arm,
            "--site",
            site,
            "--day1",
            day1,
        )
        assert result.exit_code == 0, result.stderr
    for args in (
        ("visit", "complete", "OV-A/INF/1", "--on", "2026-03-02"),
        ("visit", "miss", "OV-A/INF/2"),
        ("participant", "withdraw", "OV-B", "--on", "2026-03-04"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, result.stderr


@pytest.mark.usefixtures("overdue_db")
def test_overdue_lists_only_scheduled_visits_whose_window_ended(cli: Cli) -> None:
    visits = as_json(cli("overdue", "--as-of", "2026-03-15", "--format", "json"))

    assert brief(visits) == [
        ("OV-C/INF/1", "2026-03-09", "09:00"),
        ("OV-A/INF/3", "2026-03-10", None),
        ("OV-C/IHFU/1", "2026-03-12", None),
    ]
    assert [(v["window_end"], v["status"]) for v in visits] == [
        ("2026-03-10", "scheduled"),
        ("2026-03-11", "scheduled"),
        ("2026-03-13", "scheduled"),
    ]


@pytest.mark.usefixtures("overdue_db")
def test_overdue_by_site(cli: Cli) -> None:
    wuh = as_json(cli("overdue", "--as-of", "2026-03-15", "--site", "WUH", "--format", "json"))
    nyc = as_json(cli("overdue", "--as-of", "2026-03-15", "--site", "NYC", "--format", "json"))

    assert [v["visit_id"] for v in wuh] == ["OV-A/INF/3"]
    assert [v["visit_id"] for v in nyc] == ["OV-C/INF/1", "OV-C/IHFU/1"]


@pytest.mark.usefixtures("overdue_db")
def test_overdue_boundary_window_ending_on_the_date(cli: Cli) -> None:
    on_the_day = as_json(cli("overdue", "--as-of", "2026-03-11", "--format", "json"))
    day_after = as_json(cli("overdue", "--as-of", "2026-03-12", "--format", "json"))

    # OV-A/INF/3's window ends 03-11: not overdue on 03-11, overdue on 03-12.
    assert [v["visit_id"] for v in on_the_day] == ["OV-C/INF/1"]
    assert [v["visit_id"] for v in day_after] == ["OV-C/INF/1", "OV-A/INF/3"]


@pytest.mark.usefixtures("overdue_db")
def test_overdue_shows_what_happened_to_the_others(cli: Cli) -> None:
    a = {v["visit_id"]: v for v in as_json(cli("schedule", "OV-A", "--format", "json"))}
    b = {v["visit_id"]: v for v in as_json(cli("schedule", "OV-B", "--format", "json"))}

    assert (a["OV-A/INF/1"]["status"], a["OV-A/INF/1"]["actual"]) == ("completed", "2026-03-02")
    assert a["OV-A/INF/1"]["deviation"] is False
    assert a["OV-A/INF/2"]["status"] == "missed"
    assert b["OV-B/INF/1"]["status"] == "cancelled"
    assert b["OV-B/INF/2"]["status"] == "cancelled"
    assert b["OV-B/SURV/1"]["status"] == "scheduled"  # survival follow-up is kept


@pytest.mark.usefixtures("overdue_db")
def test_overdue_csv_and_table(cli: Cli) -> None:
    as_csv = cli("overdue", "--as-of", "2026-03-15", "--format", "csv")
    as_table = cli("overdue", "--as-of", "2026-03-15")

    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["visit_id"] for r in rows] == ["OV-C/INF/1", "OV-A/INF/3", "OV-C/IHFU/1"]
    lines = as_table.stdout.splitlines()
    assert len(lines) == 5
    assert lines[-1] == "3 visits, 2 participants"
    assert all(len(line) <= 80 for line in lines)


@pytest.mark.usefixtures("overdue_db")
def test_overdue_with_an_unknown_site(cli: Cli) -> None:
    result = cli("overdue", "--as-of", "2026-03-15", "--site", "PAR")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "planner: error: unknown site 'PAR' (sites: NYC, WUH)\n"
