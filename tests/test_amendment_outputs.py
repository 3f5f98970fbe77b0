"""Protocol diff and schedule of activities, byte for byte, for both bundled protocols.

Each bundled protocol has a realistic amended copy in ``tests/fixtures/amendments``
(its header says what amendment 1 changes). The outputs live in
``tests/golden/amendments``; regenerate them after an intended change with
``UPDATE_GOLDEN=1 python -m pytest tests/test_amendment_outputs.py`` and review
the diff.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import pytest

from tests.test_corrections import Cli, ok

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "amendments"
AMENDED = HERE / "fixtures" / "amendments"
PROTOCOLS = ("cs-huc-mscs", "ucmsc-dlc")


def golden(name: str, produced: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(produced, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert produced == path.read_text(encoding="utf-8"), (
        f"output differs from {path} (UPDATE_GOLDEN=1 regenerates after review)"
    )


@pytest.fixture
def amended(cli: Cli) -> Cli:
    """Both bundled protocols stored as version 1, their amendment as version 2."""
    for protocol in PROTOCOLS:
        bundled = resources.files("planner").joinpath(f"protocols/{protocol}.toml")
        with resources.as_file(bundled) as path:
            assert ok(cli("protocol", "add", str(path))).stdout == f"added {protocol} version 1\n"
        added = ok(cli("protocol", "add", str(AMENDED / f"{protocol}-v2.toml"))).stdout
        assert added == f"added {protocol} version 2\n"
    return cli


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_diff_of_the_amendment(amended: Cli, protocol: str) -> None:
    golden(f"{protocol}-diff.txt", ok(amended("protocol", "diff", protocol)).stdout)
    as_json = ok(amended("protocol", "diff", protocol, "--format", "json")).stdout
    golden(f"{protocol}-diff.json", as_json)
    assert (json.loads(as_json)["from"], json.loads(as_json)["to"]) == (1, 2)
    # The defaults are the two latest versions.
    explicit = amended("protocol", "diff", protocol, "--from", "1", "--to", "2")
    assert ok(explicit).stdout == ok(amended("protocol", "diff", protocol)).stdout


def test_diff_backwards_says_what_was_removed(amended: Cli) -> None:
    back = ok(amended("protocol", "diff", "ucmsc-dlc", "--from", "2", "--to", "1")).stdout
    golden("ucmsc-dlc-diff-back.txt", back)
    assert "LAB (Liver function labs): removed" in back


def test_diff_of_a_version_with_itself_is_empty(amended: Cli) -> None:
    same = ok(amended("protocol", "diff", "cs-huc-mscs", "--from", "2", "--to", "2")).stdout
    assert same == "cs-huc-mscs: version 2 → version 2\nno change to arms or schedule\n"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_schedule_of_activities_of_the_bundled_protocol(cli: Cli, protocol: str, fmt: str) -> None:
    shown = ok(cli("protocol", "show", protocol, "--matrix", "--format", fmt)).stdout
    golden(f"{protocol}-matrix.{'txt' if fmt == 'table' else fmt}", shown)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_schedule_of_activities_of_the_amendment(amended: Cli, protocol: str) -> None:
    shown = ok(amended("protocol", "show", protocol, "--matrix")).stdout
    golden(f"{protocol}-v2-matrix.txt", shown)
    # Version 1 is the bundled file: the same table as before anything was stored.
    first = ok(amended("protocol", "show", protocol, "--matrix", "--version", "1")).stdout
    assert first == (GOLDEN / f"{protocol}-matrix.txt").read_text(encoding="utf-8")


def test_a_rebaseline_that_moves_one_window_bound_names_only_that_bound(cli: Cli) -> None:
    """A G2 infusion whose window grows on one side read "window None to ..."."""
    ok(cli("site", "add", "NYC", "--timezone", "America/New_York"))
    ok(cli("enroll", "NEW-1", "--protocol", "ucmsc-dlc", "--arm", "G2", "--site", "NYC",
           "--day1", "2026-03-20"))  # fmt: skip
    ok(cli("protocol", "add", str(AMENDED / "ucmsc-dlc-v2.toml")))
    shown = ok(cli("participant", "rebaseline", "NEW-1", "--protocol", "ucmsc-dlc",
                   "--to-version", "2", "--preview")).stdout  # fmt: skip
    assert (
        "  moved      NEW-1/INF/1  window end 2026-03-21 → 2026-03-22; time none → 09:00; "
        "duration minutes none → 60"
    ) in shown.splitlines()
    assert "None" not in shown
