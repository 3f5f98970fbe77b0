"""Protocol amendments (issue 13), through the real command line.

cs-huc-mscs arm MED, day 1 on Monday 2026-11-16: INF days 1, 8, 15; IHFU
days 4, 11, 18, 22; FU weeks 4, 8, 12, 24 (±3, ±5, ±7, ±7); SURV 6, 12, 18
months after FU/4. Version 2 widens every FU window to ±7, adds a week-16
follow-up (FU becomes weeks 4, 8, 12, 16, 24, so FU/4 is week 16 and FU/5
week 24; SURV now counts from FU/5) and drops the day-22 in-hospital
follow-up (IHFU/4).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump
from tests.parsers import ical_spans, vobject_spans
from tests.test_corrections import Cli, audit, ok, plan, refused

HISTORY = [
    ("INF/1", "2026-11-16"),
    ("IHFU/1", "2026-11-19"),
    ("INF/2", "2026-11-23"),
    ("IHFU/2", "2026-11-26"),
    ("INF/3", "2026-11-30"),
]


def amended(tmp_path: Path, name: str = "v2.toml", drop_arm: str | None = None) -> Path:
    text = resources.files("planner").joinpath("protocols/cs-huc-mscs.toml").read_text("utf-8")
    text = text.replace("timing = { days = [4, 11, 18, 22] }", "timing = { days = [4, 11, 18] }")
    start, end = text.index("windows = [\n"), text.index("timing = { weeks = [4, 8, 12, 24] }")
    text = text[:start] + "window = { before = 7, after = 7 }\n" + text[end:]
    text = text.replace("weeks = [4, 8, 12, 24]", "weeks = [4, 8, 12, 16, 24]")
    text = text.replace('{ event = "FU", occurrence = 4 }', '{ event = "FU", occurrence = 5 }')
    if drop_arm:
        block = text.index(f'code = "{drop_arm}"')
        text = text[: text.rindex("[[arms]]", 0, block)] + text[text.index("[[arms]]", block) :]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def midway(cli: Cli, tmp_path: Path) -> Cli:
    """WUH-001 on version 1, part-way through: infusions done, IHFU/3 missed,
    FU/1 moved by a coordinator; version 2 stored."""
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    enroll = ["enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH"]
    ok(cli(*enroll, "--day1", "2026-11-16"))
    for visit, on in HISTORY:
        ok(cli("visit", "complete", f"WUH-001/{visit}", "--on", on))
    ok(cli("visit", "miss", "WUH-001/IHFU/3"))
    ok(cli("visit", "move", "WUH-001/FU/1", "--to", "2026-12-16"))
    ok(cli("protocol", "add", str(amended(tmp_path))))
    return cli


REBASELINE = ["participant", "rebaseline", "WUH-001", "--protocol", "cs-huc-mscs"]


def test_diff_says_what_the_amendment_changed(midway: Cli) -> None:
    assert ok(midway("protocol", "diff", "cs-huc-mscs")).stdout == (
        "cs-huc-mscs: version 1 → version 2\n"
        "\n"
        "FU (Follow-up): changed\n"
        "  timing: weeks 4, 8, 12, 24 → weeks 4, 8, 12, 16, 24\n"
        "  windows: ±3, ±5, ±7, ±7 days → ±7 days\n"
        "\n"
        "IHFU (In-hospital follow-up): changed\n"
        "  timing: study days 4, 11, 18, 22 → study days 4, 11, 18\n"
        "\n"
        "SURV (Survival call): changed\n"
        "  anchor: FU/4 → FU/5\n"
    )
    found = json.loads(ok(midway("protocol", "diff", "cs-huc-mscs", "--format", "json")).stdout)
    assert (found["from"], found["to"]) == (1, 2)
    assert [(s["series"], s["status"]) for s in found["series"]] == [
        ("FU", "changed"),
        ("IHFU", "changed"),
        ("SURV", "changed"),
    ]
    assert found["series"][2]["changes"] == [{"field": "anchor", "before": "FU/4", "after": "FU/5"}]
    reverse = ok(midway("protocol", "diff", "cs-huc-mscs", "--from", "2", "--to", "1")).stdout
    assert reverse.splitlines()[0] == "cs-huc-mscs: version 2 → version 1"


def test_rebaseline_keeps_history_and_identities(midway: Cli, tmp_path: Path) -> None:
    before = plan(midway)
    done = ok(midway(*REBASELINE, "--to-version", "2", "--reason", "amendment 1"))
    assert done.stdout.splitlines() == [
        "WUH-001: cs-huc-mscs version 1 → 2 (arm MED)",
        "  cancelled  WUH-001/IHFU/4  2026-12-07",
        "  moved      WUH-001/FU/1  window 2026-12-11 to 2026-12-17 → 2026-12-07 to 2026-12-21",
        "  moved      WUH-001/FU/2  window 2027-01-06 to 2027-01-16 → 2027-01-04 to 2027-01-18",
        "  moved      WUH-001/FU/4  2027-05-03 → 2027-03-08; "
        "window 2027-04-26 to 2027-05-10 → 2027-03-01 to 2027-03-15",
        "  added      WUH-001/FU/5  2027-05-03  (window 2027-04-26 to 2027-05-10)",
    ]
    after = plan(midway)
    # History never changes: dates, status, actual, deviation, revision, UID.
    facts = ("ideal", "target", "window_start", "window_end", "status", "actual", "deviation")
    for vid, row in before.items():
        if row["status"] != "scheduled":
            for name in (*facts, "revision", "uid", "time"):
                assert after[vid][name] == row[name], (vid, name)
    assert after["WUH-001/IHFU/4"]["status"] == "cancelled"
    assert after["WUH-001/FU/5"]["status"] == "scheduled" and after["WUH-001/FU/5"]["revision"] == 0
    # Same UIDs; revisions raised exactly where something changed.
    changed = {"WUH-001/IHFU/4", "WUH-001/FU/1", "WUH-001/FU/2", "WUH-001/FU/4"}
    for vid, row in before.items():
        assert after[vid]["uid"] == row["uid"], vid
        assert after[vid]["revision"] == row["revision"] + (vid in changed), vid
    assert after["WUH-001/FU/1"]["target"] == "2026-12-16"  # the coordinator's move stays
    assert {after[f"WUH-001/SURV/{n}"]["target"] for n in (1, 2, 3)} == {
        before[f"WUH-001/SURV/{n}"]["target"] for n in (1, 2, 3)
    }
    assert {row["protocol_version"] for row in after.values()} == {2}
    trail = [(e["action"], e["visit"], e["reason"]) for e in audit(midway)[-6:]]
    why = "protocol cs-huc-mscs version 1 → 2: amendment 1"
    assert trail == [
        ("amend-cancel", "WUH-001/IHFU/4", why),
        ("amend-move", "WUH-001/FU/1", why),
        ("amend-move", "WUH-001/FU/2", why),
        ("amend-move", "WUH-001/FU/4", why),
        ("amend-add", "WUH-001/FU/5", why),
        ("rebaseline", None, why),
    ]
    out = tmp_path / "wuh.ics"
    ok(midway("export", "ics", "--participant", "WUH-001", "--output", str(out)))
    data = out.read_bytes()
    uid = after["WUH-001/IHFU/4"]["uid"]
    assert set(vobject_spans(data)) == set(ical_spans(data)) == {r["uid"] for r in after.values()}
    assert uid in vobject_spans(data)
    assert b"STATUS:CANCELLED" in data


def test_preview_writes_nothing_and_says_what_the_run_does(midway: Cli, db_path: Path) -> None:
    args = [*REBASELINE, "--to-version", "2", "--reason", "amendment 1", "--format", "json"]
    snapshot = dump(db_path)
    preview = json.loads(ok(midway(*args, "--preview")).stdout)
    assert dump(db_path) == snapshot
    real = json.loads(ok(midway(*args)).stdout)
    assert (preview["preview"], real["preview"]) == (True, False)
    assert preview["participants"] == real["participants"]
    assert [c["action"] for c in real["participants"][0]["changes"]] == [
        "cancel",
        "move",
        "move",
        "move",
        "add",
    ]
    table = ok(midway(*REBASELINE, "--to-version", "1", "--preview")).stdout.splitlines()
    assert table[0] == "preview: nothing was written"
    assert table[1] == "WUH-001: cs-huc-mscs version 2 → 1 (arm MED)"


def test_the_version_list_counts_participants(midway: Cli) -> None:
    ok(midway(*REBASELINE, "--to-version", "2"))
    listed = json.loads(ok(midway("protocol", "list", "--format", "json")).stdout)
    huc = next(p for p in listed if p["id"] == "cs-huc-mscs")
    assert [(v["version"], v["participants"]) for v in huc["versions"]] == [(1, 0), (2, 1)]
    shown = ok(midway("protocol", "show", "cs-huc-mscs", "--version", "1", "--arm", "MED"))
    assert "IHFU/4" in shown.stdout


def test_the_schedule_of_activities(cli: Cli) -> None:
    shown = ok(cli("protocol", "show", "cs-huc-mscs", "--matrix", "--arm", "LOW")).stdout
    assert shown.splitlines()[3:] == [
        "Arm LOW: Low-dose group",
        "SERIES  D1  D4  W1  D11  W2  D18  W3  W4  W8  W12  W24  D352  D534  D717",
        "INF     X       X        X",
        "IHFU        X       X        X    X",
        "FU                                    X   X   X    X",
        "SURV                                                    X     X     X",
    ]
    rows = json.loads(
        ok(cli("protocol", "show", "ucmsc-dlc", "--matrix", "--format", "json")).stdout
    )
    g2 = {r["series"]: [k for k, v in r.items() if v == "X"] for r in rows if r["arm"] == "G2"}
    assert g2 == {"INF": ["D1", "W1"], "FU": ["W4", "W12", "W24", "W36", "W48"], "SURV": ["D366"]}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--to-version", "3"], ["no version 3", "versions: 1, 2"]),
        (["--to-version", "1"], ["already on cs-huc-mscs version 1"]),
        (["--to-version", "2", "--arm", "XL"], ["unknown arm 'XL'"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    midway: Cli, db_path: Path, args: list[str], fragments: list[str]
) -> None:
    snapshot = dump(db_path)
    refused(midway(*REBASELINE, *args), *fragments)
    assert dump(db_path) == snapshot


def test_an_arm_missing_in_the_new_version_must_be_mapped(
    midway: Cli, db_path: Path, tmp_path: Path
) -> None:
    ok(midway("protocol", "add", str(amended(tmp_path, "v3.toml", drop_arm="MED"))))
    snapshot = dump(db_path)
    refused(midway(*REBASELINE, "--to-version", "3"), "arm 'MED'", "version 3 does not have")
    assert dump(db_path) == snapshot
    done = ok(midway(*REBASELINE, "--to-version", "3", "--arm", "HIGH")).stdout
    assert done.splitlines()[0] == "WUH-001: cs-huc-mscs version 1 → 3 (arm MED → HIGH)"
    assert {row["arm"] for row in plan(midway).values()} == {"HIGH"}


def test_a_participant_of_another_protocol_is_refused(midway: Cli, db_path: Path) -> None:
    enroll = ["enroll", "WUH-002", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH"]
    ok(midway(*enroll, "--day1", "2026-11-16"))
    snapshot = dump(db_path)
    both = ["participant", "rebaseline", "WUH-001", "WUH-002", "--protocol", "cs-huc-mscs"]
    line = refused(midway(*both, "--to-version", "2"), "'WUH-002' is on protocol ucmsc-dlc")
    assert "WUH-001" not in line
    assert dump(db_path) == snapshot


def test_a_withdrawn_participant_stays_withdrawn(midway: Cli) -> None:
    ok(midway("participant", "withdraw", "WUH-001", "--on", "2026-12-04"))
    before = plan(midway)
    rows = json.loads(ok(midway(*REBASELINE, "--to-version", "2", "--format", "json")).stdout)
    changes: list[dict[str, Any]] = rows["participants"][0]["changes"]
    assert [c["action"] for c in changes] == []
    after = plan(midway)
    assert {k: v["status"] for k, v in after.items()} == {k: v["status"] for k, v in before.items()}
    info = json.loads(ok(midway("participants", "--format", "json")).stdout)
    assert info[0]["status"] == "withdrawn"


V2 = Path(__file__).parent / "fixtures" / "amendments" / "cs-huc-mscs-v2.toml"


def _on_version_2(cli: Cli, code: str) -> None:
    ok(cli("protocol", "add", str(V2)))
    ok(cli("participant", "rebaseline", code, "--protocol", "cs-huc-mscs", "--to-version", "2",
           "--reason", "a1"))  # fmt: skip


def _statuses(cli: Cli, code: str) -> dict[str, tuple[str, str]]:
    """Each visit's status and day, by its id without the participant."""
    return {
        vid.split("/", 1)[1]: (row["status"], row["target"]) for vid, row in plan(cli, code).items()
    }


def test_a_reinstatement_after_a_rebaseline_follows_the_new_version(cli: Cli) -> None:
    """Withdrawn, moved to version 2 (nothing to change then), reinstated: the
    visits return as version 2 plans them, as for one never withdrawn (IHFU/4
    is no longer in it; week 24 is FU/5 now)."""
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    for code in ("WUH-001", "WUH-002"):
        ok(cli("enroll", code, "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
               "--day1", "2026-06-01"))  # fmt: skip
    ok(cli("participant", "withdraw", "WUH-001", "--on", "2026-06-20", "--cancel-survival"))
    _on_version_2(cli, "WUH-001")
    ok(cli("participant", "rebaseline", "WUH-002", "--protocol", "cs-huc-mscs", "--to-version",
           "2", "--reason", "a1"))  # fmt: skip
    back = ok(cli("participant", "reinstate", "WUH-001", "--reason", "recorded in error"))
    assert "WUH-001/IHFU/4 cancelled: not in the participant's protocol version" in back.stdout
    assert "WUH-001/FU/5 added on 2026-11-16" in back.stdout
    assert _statuses(cli, "WUH-001") == _statuses(cli, "WUH-002")  # never withdrawn
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")


def test_an_undo_after_a_rebaseline_follows_the_new_version(cli: Cli) -> None:
    """IHFU/4 done, then version 2 (which has no IHFU/4: kept as history), then
    the completion undone: it is not scheduled again but cancelled."""
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("enroll", "U1", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
           "--day1", "2026-06-01"))  # fmt: skip
    ok(cli("visit", "complete", "U1/IHFU/4", "--on", "2026-06-22"))
    _on_version_2(cli, "U1")
    undone = ok(cli("visit", "undo", "U1/IHFU/4", "--reason", "entered on the wrong participant"))
    assert "U1/IHFU/4 cancelled: not in the participant's protocol version" in undone.stdout
    assert _statuses(cli, "U1")["IHFU/4"] == ("cancelled", "2026-06-22")
    assert [(r["action"], r["visit"]) for r in audit(cli, "U1")][-2:] == [
        ("undo", "U1/IHFU/4"), ("amend-cancel", "U1/IHFU/4")]  # fmt: skip
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")


UCMSC_V2 = Path(__file__).parent / "fixtures" / "amendments" / "ucmsc-dlc-v2.toml"


@pytest.mark.parametrize(
    ("ending", "survival_2"),
    [
        (("participant", "withdraw", "LON-001", "--on", "2026-11-01"), "2028-09-01"),
        (("participant", "withdraw", "LON-001", "--on", "2026-11-01", "--cancel-survival"), None),
        (("participant", "died", "LON-001", "--on", "2026-11-01"), None),
    ],
    ids=["withdrawn", "withdrawn-without-survival-follow-up", "died"],
)
def test_an_amendment_adds_survival_follow_up_a_withdrawal_kept_going(
    cli: Cli, ending: tuple[str, ...], survival_2: str | None
) -> None:
    """ucmsc-dlc version 2 adds a 24-month survival check. A withdrawal keeps
    survival follow-up (SPEC §5), so a withdrawn participant gets it; one who
    withdrew from all follow-up, or died, gets nothing after the date."""
    ok(cli("site", "add", "LON", "--timezone", "Europe/London"))
    ok(cli("enroll", "LON-001", "--protocol", "ucmsc-dlc", "--arm", "CTRL", "--site", "LON",
           "--day1", "2026-09-01"))  # fmt: skip
    ok(cli(*ending))
    ok(cli("protocol", "add", str(UCMSC_V2)))
    ok(cli("participant", "rebaseline", "LON-001", "--protocol", "ucmsc-dlc", "--to-version",
           "2", "--reason", "amendment 1"))  # fmt: skip
    visits = plan(cli, "LON-001")
    assert ("LON-001/SURV/2" in visits) == (survival_2 is not None)
    if survival_2 is not None:
        assert (visits["LON-001/SURV/2"]["target"], visits["LON-001/SURV/2"]["status"]) == (
            survival_2, "scheduled",
        )  # fmt: skip
        assert visits["LON-001/SURV/1"]["status"] == "scheduled"
    # Visits before the end date that the version adds are added either way (LAB/1, LAB/2).
    assert {"LON-001/LAB/1", "LON-001/LAB/2"} <= set(visits)
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")
