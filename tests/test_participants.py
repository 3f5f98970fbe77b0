"""`planner participants` and the status line of `planner schedule`.

Counts worked out by hand from the bundled protocols: cs-huc-mscs LOW has 14
visits (3 infusions, 4 in-hospital follow-ups, 4 follow-ups, 3 survival
calls); ucmsc-dlc G2 has 8 (2 infusions, 5 follow-ups, 1 survival check);
CTRL has 6 (5 follow-ups, 1 survival check).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import dump

Cli = Callable[..., Any]


@pytest.fixture(autouse=True)
def _no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)


def ok(result: Any) -> str:
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


@pytest.fixture
def people(cli: Cli) -> None:
    """P-ON on study (one done, one missed), P-WD withdrawn (survival kept),
    P-DIED dead, P-FIN finished (every visit missed)."""
    for code, zone in (("WUH", "Asia/Shanghai"), ("NYC", "America/New_York")):
        ok(cli("site", "add", code, "--timezone", zone))
    for who, protocol, arm, site, day1 in [
        ("P-ON", "cs-huc-mscs", "LOW", "WUH", "2026-03-02"),
        ("P-WD", "ucmsc-dlc", "G2", "NYC", "2026-03-05"),
        ("P-DIED", "ucmsc-dlc", "CTRL", "WUH", "2026-03-02"),
        ("P-FIN", "ucmsc-dlc", "CTRL", "NYC", "2025-01-06"),
    ]:
        ok(cli("enroll", who, "--protocol", protocol, "--arm", arm, "--site", site,
               "--day1", day1))  # fmt: skip
    ok(cli("visit", "complete", "P-ON/INF/1", "--on", "2026-03-02"))
    ok(cli("visit", "miss", "P-ON/IHFU/1"))
    ok(cli("participant", "withdraw", "P-WD", "--on", "2026-03-04"))
    ok(cli("participant", "died", "P-DIED", "--on", "2026-03-10"))
    for visit in ("FU/1", "FU/2", "FU/3", "FU/4", "FU/5", "SURV/1"):
        ok(cli("visit", "miss", f"P-FIN/{visit}"))


EXPECTED = [
    {
        "participant": "P-DIED",
        "site": "WUH",
        "protocol": "ucmsc-dlc",
        "protocol_version": 1,
        "arm": "CTRL",
        "day1": "2026-03-02",
        "status": "died",
        "status_date": "2026-03-10",
        "next_visit": None,
        "next_target": None,
        "completed": 0,
        "missed": 0,
        "cancelled": 6,
        "scheduled": 0,
    },
    {
        "participant": "P-FIN",
        "site": "NYC",
        "protocol": "ucmsc-dlc",
        "protocol_version": 1,
        "arm": "CTRL",
        "day1": "2025-01-06",
        "status": "finished",
        "status_date": None,
        "next_visit": None,
        "next_target": None,
        "completed": 0,
        "missed": 6,
        "cancelled": 0,
        "scheduled": 0,
    },
    {
        "participant": "P-ON",
        "site": "WUH",
        "protocol": "cs-huc-mscs",
        "protocol_version": 1,
        "arm": "LOW",
        "day1": "2026-03-02",
        "status": "on-study",
        "status_date": None,
        "next_visit": "P-ON/INF/2",  # day 8
        "next_target": "2026-03-09",
        "completed": 1,
        "missed": 1,
        "cancelled": 0,
        "scheduled": 12,
    },
    {
        "participant": "P-WD",
        "site": "NYC",
        "protocol": "ucmsc-dlc",
        "protocol_version": 1,
        "arm": "G2",
        "day1": "2026-03-05",
        "status": "withdrawn",
        "status_date": "2026-03-04",
        "next_visit": "P-WD/SURV/1",  # 12 months after day 1, kept
        "next_target": "2027-03-05",
        "completed": 0,
        "missed": 0,
        "cancelled": 7,
        "scheduled": 1,
    },
]


@pytest.mark.usefixtures("people")
def test_participants_json_in_full(cli: Cli) -> None:
    assert json.loads(ok(cli("participants", "--format", "json"))) == EXPECTED


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--status", "on-study"), ["P-ON"]),
        (("--status", "withdrawn"), ["P-WD"]),
        (("--status", "died"), ["P-DIED"]),
        (("--status", "finished"), ["P-FIN"]),
        (("--site", "NYC"), ["P-FIN", "P-WD"]),
        (("--protocol", "cs-huc-mscs"), ["P-ON"]),
        (("--protocol", "ucmsc-dlc", "--site", "WUH"), ["P-DIED"]),
    ],
)
def test_participants_filters(cli: Cli, args: tuple[str, ...], expected: list[str]) -> None:
    found = json.loads(ok(cli("participants", *args, "--format", "json")))
    assert [p["participant"] for p in found] == expected


@pytest.mark.usefixtures("people")
def test_participants_table_at_80_columns(cli: Cli) -> None:
    assert ok(cli("participants")) == (
        "PARTICIPANT  SITE  PROTOCOL        ARM   STATUS                NEXT VISIT\n"
        "P-DIED       WUH   ucmsc-dlc v1    CTRL  died 2026-03-10       -\n"
        "P-FIN        NYC   ucmsc-dlc v1    CTRL  finished              -\n"
        "P-ON         WUH   cs-huc-mscs v1  LOW   on study              2026-03-09 INF/2\n"
        "P-WD         NYC   ucmsc-dlc v1    G2    withdrawn 2026-03-04  2027-03-05 SURV/1\n"
        "(visit counts and day 1 left out to fit; --format csv has them)\n"
        "4 participants\n"
    )


@pytest.mark.usefixtures("people")
def test_participants_table_on_a_wide_terminal(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    lines = ok(cli("participants", "--status", "on-study")).splitlines()
    assert [line.split() for line in lines] == [
        ["PARTICIPANT", "SITE", "PROTOCOL", "ARM", "DAY", "1", "STATUS", "NEXT", "VISIT",
         "COMPLETED", "MISSED", "CANCELLED", "SCHEDULED"],
        ["P-ON", "WUH", "cs-huc-mscs", "v1", "LOW", "2026-03-02", "on", "study",
         "2026-03-09", "INF/2", "1", "1", "0", "12"],
        ["1", "participant"],
    ]  # fmt: skip


@pytest.mark.usefixtures("people")
def test_participants_csv_has_every_column(cli: Cli) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(cli("participants", "--format", "csv")))))
    assert rows[3] == {key: "" if value is None else str(value)
                       for key, value in EXPECTED[3].items()}  # fmt: skip


def test_no_participants(cli: Cli) -> None:
    assert ok(cli("participants")) == "(no participants)\n"


@pytest.mark.usefixtures("people")
def test_participants_bad_input(cli: Cli, db_path: Any) -> None:
    before = dump(db_path)
    status = cli("participants", "--status", "active")
    site = cli("participants", "--site", "PAR")

    assert status.exit_code == 2 and status.stdout == ""
    assert status.stderr.startswith("planner: error: Invalid value for '--status'")
    assert status.stderr.count("\n") == 1
    assert (site.exit_code, site.stderr) == (
        2,
        "planner: error: unknown site 'PAR' (sites: NYC, WUH)\n",
    )
    assert dump(db_path) == before


# ------------------------------------------------------------ schedule status


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("who", "line"),
    [
        ("P-ON", "P-ON · cs-huc-mscs v1 · arm LOW · site WUH · on study"),
        ("P-WD", "P-WD · ucmsc-dlc v1 · arm G2 · site NYC · withdrawn on 2026-03-04"),
        ("P-DIED", "P-DIED · ucmsc-dlc v1 · arm CTRL · site WUH · died on 2026-03-10"),
        ("P-FIN", "P-FIN · ucmsc-dlc v1 · arm CTRL · site NYC · finished"),
    ],
)  # fmt: skip
def test_schedule_starts_with_the_status_line(cli: Cli, who: str, line: str) -> None:
    lines = ok(cli("schedule", who)).splitlines()
    assert lines[0] == line
    assert lines[1].split() == ["DATE", "TIME", "VISIT", "WHAT", "WINDOW", "STATUS"]


@pytest.mark.usefixtures("people")
def test_schedule_json_has_no_status_line(cli: Cli) -> None:
    visits = json.loads(ok(cli("schedule", "P-WD", "--format", "json")))
    assert len(visits) == 8
