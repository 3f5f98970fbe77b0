"""Re-baselining many participants at once (issue 13) through the batched path
(``planner.app.apply``), and the label of an occurrence an amendment dropped.

Six participants: five on cs-huc-mscs version 1 at two sites (NYC closed at
weekends), one of them part-way through, two that share every input (arm, day
1, site, nothing recorded: one plan serves both), one withdrawn; and one on
ucmsc-dlc, whom ``--all`` for cs-huc-mscs never touches. Version 2 is the
amendment of ``tests/fixtures/amendments/cs-huc-mscs-v2.toml``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import dump
from tests.test_corrections import Cli, audit, ok, plan, refused

AMENDMENT = Path(__file__).parent / "fixtures" / "amendments" / "cs-huc-mscs-v2.toml"
ALL = ["participant", "rebaseline", "--all", "--protocol", "cs-huc-mscs", "--to-version", "2"]
ENROL = [
    ("WUH-001", "cs-huc-mscs", "MED", "WUH", "2026-11-16"),
    ("WUH-002", "cs-huc-mscs", "LOW", "WUH", "2026-11-16"),
    ("WUH-003", "cs-huc-mscs", "LOW", "WUH", "2026-11-16"),
    ("WUH-004", "cs-huc-mscs", "HIGH", "WUH", "2026-11-23"),
    ("NYC-001", "cs-huc-mscs", "MED", "NYC", "2026-11-18"),
    ("WUH-005", "ucmsc-dlc", "G1", "WUH", "2026-11-16"),
]
MOVED = ["NYC-001", "WUH-001", "WUH-002", "WUH-003", "WUH-004"]
HISTORY = ("ideal", "target", "window_start", "window_end", "time", "status", "actual")
HISTORY += ("deviation", "revision")


@pytest.fixture
def cohort(cli: Cli) -> Cli:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("site", "add", "NYC", "--timezone", "America/New_York", "--closed", "sat,sun"))
    for code, protocol, arm, site, day1 in ENROL:
        ok(cli("enroll", code, "--protocol", protocol, "--arm", arm, "--site", site,
               "--day1", day1))  # fmt: skip
    ok(cli("visit", "complete", "WUH-001/INF/1", "--on", "2026-11-16"))
    ok(cli("visit", "complete", "WUH-004/INF/1", "--on", "2026-11-24"))
    ok(cli("participant", "withdraw", "WUH-004", "--on", "2026-12-01"))
    ok(cli("protocol", "add", str(AMENDMENT)))
    return cli


def lines_for(code: str, nyc: bool = False) -> list[str]:
    """What the amendment does to a participant whose day 1 is 2026-11-16 (WUH)
    or 2026-11-18 (NYC): every date two days later."""
    if nyc:
        return [
            f"  cancelled  {code}/IHFU/4  2026-12-09",
            f"  moved      {code}/FU/1  window 2026-12-13 to 2026-12-19 → 2026-12-09 to 2026-12-23",
            f"  moved      {code}/FU/2  window 2027-01-08 to 2027-01-18 → 2027-01-06 to 2027-01-20",
            f"  moved      {code}/FU/4  2027-05-05 → 2027-03-10; "
            "window 2027-04-28 to 2027-05-12 → 2027-03-03 to 2027-03-17",
            f"  added      {code}/FU/5  2027-05-05  (window 2027-04-28 to 2027-05-12)",
        ]
    return [
        f"  cancelled  {code}/IHFU/4  2026-12-07",
        f"  moved      {code}/FU/1  window 2026-12-11 to 2026-12-17 → 2026-12-07 to 2026-12-21",
        f"  moved      {code}/FU/2  window 2027-01-06 to 2027-01-16 → 2027-01-04 to 2027-01-18",
        f"  moved      {code}/FU/4  2027-05-03 → 2027-03-08; "
        "window 2027-04-26 to 2027-05-10 → 2027-03-01 to 2027-03-15",
        f"  added      {code}/FU/5  2027-05-03  (window 2027-04-26 to 2027-05-10)",
    ]


EXPECTED = [
    "NYC-001: cs-huc-mscs version 1 → 2 (arm MED)",
    *lines_for("NYC-001", nyc=True),
    "WUH-001: cs-huc-mscs version 1 → 2 (arm MED)",
    *lines_for("WUH-001"),
    "WUH-002: cs-huc-mscs version 1 → 2 (arm LOW)",
    *lines_for("WUH-002"),
    "WUH-003: cs-huc-mscs version 1 → 2 (arm LOW)",
    *lines_for("WUH-003"),
    "WUH-004: cs-huc-mscs version 1 → 2 (arm HIGH)",
    "  no visit changes",
]


def test_rebaseline_all_moves_everyone_on_another_version(cohort: Cli, db_path: Path) -> None:
    before = {code: plan(cohort, code) for code, *_ in ENROL}
    snapshot, raw = dump(db_path), db_path.read_bytes()
    preview = ok(cohort(*ALL, "--reason", "amendment 1", "--preview")).stdout.splitlines()
    assert preview == ["preview: nothing was written", *EXPECTED]
    assert dump(db_path) == snapshot and db_path.read_bytes() == raw
    assert ok(cohort(*ALL, "--reason", "amendment 1")).stdout.splitlines() == EXPECTED
    verified = ok(cohort("audit", "verify")).stdout
    assert verified.startswith("audit trail intact: ")
    after = {code: plan(cohort, code) for code, *_ in ENROL}
    assert after["WUH-005"] == before["WUH-005"]
    for code in MOVED:
        assert {row["protocol_version"] for row in after[code].values()} == {2}, code
        for vid, row in before[code].items():
            assert after[code][vid]["uid"] == row["uid"], vid
            if row["status"] != "scheduled":  # history never changes
                assert {k: after[code][vid][k] for k in HISTORY} == {k: row[k] for k in HISTORY}
    # The withdrawn participant: nothing revived, nothing added after the end.
    assert {v: r["status"] for v, r in after["WUH-004"].items()} == {
        v: r["status"] for v, r in before["WUH-004"].items()
    }
    # Audit rows: each participant's visit changes, then its rebaseline row.
    why = "protocol cs-huc-mscs version 1 → 2: amendment 1"
    trail = [(e["action"], e["visit"], e["reason"]) for e in audit(cohort, "WUH-002")[-6:]]
    assert trail == [
        ("amend-cancel", "WUH-002/IHFU/4", why),
        ("amend-move", "WUH-002/FU/1", why),
        ("amend-move", "WUH-002/FU/2", why),
        ("amend-move", "WUH-002/FU/4", why),
        ("amend-add", "WUH-002/FU/5", why),
        ("rebaseline", None, why),
    ]
    assert ok(cohort(*ALL)).stdout == "no participant to move\n"


def test_the_preview_as_json_equals_the_run(cohort: Cli) -> None:
    preview = json.loads(ok(cohort(*ALL, "--preview", "--format", "json")).stdout)
    real = json.loads(ok(cohort(*ALL, "--format", "json")).stdout)
    assert (preview["preview"], real["preview"]) == (True, False)
    assert preview["participants"] == real["participants"]
    assert [p["participant"] for p in real["participants"]] == MOVED
    shared = [
        p["changes"] for p in real["participants"] if p["participant"] in ("WUH-002", "WUH-003")
    ]
    assert json.dumps(shared[0]).replace("WUH-002", "WUH-003") == json.dumps(shared[1])
    add = real["participants"][1]["changes"][-1]
    assert add == {
        "visit": "WUH-001/FU/5",
        "action": "add",
        "before": {},
        "after": {
            "ideal": "2027-05-03",
            "target": "2027-05-03",
            "window_start": "2027-04-26",
            "window_end": "2027-05-10",
            "time": None,
            "duration_minutes": None,
            "kind": "visit",
            "revision": 0,
        },
    }


def test_all_and_names_together_are_refused(cohort: Cli, db_path: Path) -> None:
    snapshot = dump(db_path)
    both = ["participant", "rebaseline", "WUH-001", "--all", "--protocol", "cs-huc-mscs"]
    refused(cohort(*both, "--to-version", "2"), "both participants and all of them")
    assert dump(db_path) == snapshot


def test_a_dropped_occurrence_reads_as_dropped(
    cohort: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(cohort(*ALL))
    monkeypatch.setenv("COLUMNS", "200")
    shown = ok(cohort("schedule", "WUH-002")).stdout.splitlines()
    ihfu = [re.split(r"\s{2,}", line.strip())[1:] for line in shown if "/IHFU/" in line]
    assert ihfu == [
        ["WUH-002/IHFU/1", "In-hospital follow-up 1/3", "11-18..11-20", "scheduled"],
        ["WUH-002/IHFU/2", "In-hospital follow-up 2/3", "11-25..11-27", "scheduled"],
        ["WUH-002/IHFU/3", "In-hospital follow-up 3/3", "12-02..12-04", "scheduled"],
        ["WUH-002/IHFU/4", "In-hospital follow-up 4 (dropped)", "12-06..12-08", "cancelled"],
    ]
    rows = plan(cohort, "WUH-002")
    assert (rows["WUH-002/IHFU/4"]["occurrence"], rows["WUH-002/IHFU/4"]["count"]) == (4, 3)
    out = tmp_path / "wuh-002.ics"
    ok(cohort("export", "ics", "--participant", "WUH-002", "--output", str(out)))
    text = out.read_text(encoding="utf-8")
    assert "SUMMARY:WUH-002 · In-hospital follow-up 4 (dropped) · LOW (cancelled)" in text
    assert "/3 · LOW" in text and "4/3" not in text
