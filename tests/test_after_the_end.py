"""Nothing is planned after a participant's death or withdrawal (SPEC §5: "all
later visits are cancelled"), whatever re-plans their visits later.

A visit on the day of the ending itself stays scheduled (it may have happened
that day). Re-planning (a late completion, a site closing) or a rebaseline then
moved it past the end date: a scheduled infusion for a dead patient, due and in
the nurses' calendars. Such a visit is cancelled instead, said so, audited; the
series a withdrawal keeps (survival follow-up) still move; a reinstatement
brings the visit back as for a participant who never ended.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_corrections import Cli, audit, ok, plan

#: Infusion 2 four days after infusion 1 was given; ±3 days.
TWO_INFUSIONS = """
id = "qa-dd"
title = "Two infusions"
[[arms]]
code = "A"
label = "Arm A"
[[schedule]]
code = "INF"
label = "Infusion"
kind = "infusion"
window = { before = 3, after = 3 }
timing = { every = 4, count = 2, start = 1 }
anchor = "previous"
"""


@pytest.fixture
def two(cli: Cli, tmp_path: Path) -> Cli:
    protocol = tmp_path / "dd.toml"
    protocol.write_text(TWO_INFUSIONS, encoding="utf-8")
    ok(cli("protocol", "add", str(protocol)))
    ok(cli("site", "add", "S", "--timezone", "UTC"))
    for code in ("P1", "P2"):
        ok(cli("enroll", code, "--protocol", "qa-dd", "--arm", "A", "--site", "S",
               "--day1", "2026-06-01"))  # fmt: skip
    return cli


def status(cli: Cli, visit: str) -> tuple[str, str]:
    row = plan(cli, visit.split("/")[0])[visit]
    return row["status"], row["target"]


@pytest.mark.parametrize("ending", ["died", "withdraw"])
def test_a_late_completion_cancels_what_would_move_past_the_end(two: Cli, ending: str) -> None:
    ok(two("participant", ending, "P1", "--on", "2026-06-05"))
    assert status(two, "P1/INF/2") == ("scheduled", "2026-06-05")  # the day itself stays
    done = ok(two("visit", "complete", "P1/INF/1", "--on", "2026-06-03"))
    assert "P1/INF/2 cancelled: it would now fall after the participant's end" in done.stdout
    assert status(two, "P1/INF/2") == ("cancelled", "2026-06-05")
    assert "P1/INF/2" not in ok(two("due", "--as-of", "2026-06-07")).stdout
    assert [row["action"] for row in audit(two, "P1")][-1] == "cancel"
    # The same completion for a participant still on study moves it.
    ok(two("visit", "complete", "P2/INF/1", "--on", "2026-06-03"))
    assert status(two, "P2/INF/2") == ("scheduled", "2026-06-07")
    assert ok(two("audit", "verify")).stdout.startswith("audit trail intact")


def test_a_reinstatement_brings_it_back_as_if_never_ended(two: Cli) -> None:
    ok(two("participant", "withdraw", "P1", "--on", "2026-06-05"))
    ok(two("visit", "complete", "P1/INF/1", "--on", "2026-06-03"))
    ok(two("participant", "reinstate", "P1", "--reason", "recorded in error"))
    ok(two("visit", "complete", "P2/INF/1", "--on", "2026-06-03"))
    assert status(two, "P1/INF/2") == status(two, "P2/INF/2") == ("scheduled", "2026-06-07")
    assert ok(two("audit", "verify")).stdout.startswith("audit trail intact")


def test_a_site_closing_cancels_what_it_would_move_past_the_end(two: Cli) -> None:
    ok(two("participant", "died", "P1", "--on", "2026-06-05"))
    ok(two("site", "close", "S", "2026-06-02", "--to", "2026-06-05", "--reason", "flood"))
    assert status(two, "P1/INF/2") == ("cancelled", "2026-06-05")
    assert status(two, "P2/INF/2") == ("scheduled", "2026-06-06")  # on study: moved
    assert ok(two("audit", "verify")).stdout.startswith("audit trail intact")


def test_survival_calls_a_withdrawal_keeps_still_move(cli: Cli) -> None:
    """cs-huc-mscs: survival calls count from follow-up 4; withdrawn on its day,
    then follow-up 4 done two days early: the calls move, and stay scheduled."""
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("enroll", "W-1", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
           "--day1", "2025-01-06"))  # fmt: skip
    fu4 = plan(cli, "W-1")["W-1/FU/4"]["target"]
    before = plan(cli, "W-1")["W-1/SURV/1"]["target"]
    ok(cli("participant", "withdraw", "W-1", "--on", fu4))
    early = f"{fu4[:8]}{int(fu4[8:]) - 2:02d}"
    ok(cli("visit", "complete", "W-1/FU/4", "--on", early))
    surv = plan(cli, "W-1")["W-1/SURV/1"]
    assert surv["status"] == "scheduled" and surv["target"] < before
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")


AMENDED = """
id = "qa-am"
title = "Monthly labs"
[[arms]]
code = "A"
label = "Arm A"
[[schedule]]
code = "LAB"
label = "Monthly labs"
kind = "visit"
window = { before = 2, after = 2 }
timing = { months = MONTHS }
"""


def test_a_rebaseline_cancels_what_it_would_move_past_the_end(cli: Cli, tmp_path: Path) -> None:
    """Version 2 drops the month-2 labs: labs 2 becomes month 3. For a
    participant who died on the month-2 day it is cancelled, not moved."""
    paths = {}
    for version, months in ((1, "[1, 2, 3]"), (2, "[1, 3]")):
        paths[version] = tmp_path / f"v{version}.toml"
        paths[version].write_text(AMENDED.replace("MONTHS", months), encoding="utf-8")
    ok(cli("protocol", "add", str(paths[1])))
    ok(cli("site", "add", "S", "--timezone", "UTC"))
    ok(cli("enroll", "D1", "--protocol", "qa-am", "--arm", "A", "--site", "S", "--day1",
           "2026-05-01"))  # fmt: skip
    ok(cli("participant", "died", "D1", "--on", "2026-07-01"))
    ok(cli("protocol", "add", str(paths[2])))
    ok(cli("participant", "rebaseline", "D1", "--protocol", "qa-am", "--to-version", "2",
           "--reason", "amendment 1"))  # fmt: skip
    assert status(cli, "D1/LAB/2") == ("cancelled", "2026-07-01")
    assert all(row["status"] != "scheduled" or row["target"] <= "2026-07-01"
               for row in plan(cli, "D1").values())  # fmt: skip
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")
