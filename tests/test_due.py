"""`planner due`, `planner overdue` with days, count lines, and the partition
of scheduled visits into not yet due, due and overdue (SPEC §5).

Expected rows are worked out by hand from the bundled protocols: cs-huc-mscs
infusions on days 1, 8, 15 at 09:00 (window ±1), in-hospital follow-ups on
days 4, 11, 18, 22 (±1); ucmsc-dlc G1 infusions every 4 days (±1), follow-ups
from day 29 (±3 days for the first).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.app import Planner
from tests.conftest import dump

Cli = Callable[..., Any]

#: (participant, protocol, arm, site, day 1)
PEOPLE = [
    ("C-MED-01", "cs-huc-mscs", "MED", "WUH", "2026-04-20"),
    ("C-HIGH-01", "cs-huc-mscs", "HIGH", "WUH", "2026-04-19"),
    ("U-G1-01", "ucmsc-dlc", "G1", "NYC", "2026-04-18"),
    ("U-CT-01", "ucmsc-dlc", "CTRL", "WUH", "2026-03-20"),
]


@pytest.fixture(autouse=True)
def _no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def people(cli: Cli) -> None:
    for code, zone in (("WUH", "Asia/Shanghai"), ("NYC", "America/New_York")):
        assert cli("site", "add", code, "--timezone", zone).exit_code == 0
    for who, protocol, arm, site, day1 in PEOPLE:
        done = cli("enroll", who, "--protocol", protocol, "--arm", arm, "--site", site,
                   "--day1", day1)  # fmt: skip
        assert done.exit_code == 0, done.stderr


def ok(result: Any) -> str:
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return str(result.stdout)


# On 2026-04-20: U-CT-01/FU/1 (day 29 = 04-17, window 04-14..04-20), C-HIGH-01/INF/1
# (04-19, 04-18..04-20) and C-MED-01/INF/1 (04-20, 04-19..04-21) are due; U-G1-01/INF/1
# (04-18, 04-17..04-19) is overdue; U-G1-01/INF/2 (04-22, 04-21..04-23) is not yet due.
DUE_TABLE = """\
DATE        TIME   VISIT            WHAT           WINDOW        LEFT
2026-04-17         U-CT-01/FU/1     Follow-up 1/5  04-14..04-20  last day
2026-04-19  09:00  C-HIGH-01/INF/1  Infusion 1/3   04-18..04-20  last day
2026-04-20  09:00  C-MED-01/INF/1   Infusion 1/3   04-19..04-21  1 day left
3 visits, 3 participants
"""


@pytest.mark.usefixtures("people")
def test_due_table_by_window_end_then_target(cli: Cli) -> None:
    assert ok(cli("due", "--as-of", "2026-04-20")) == DUE_TABLE


@pytest.mark.usefixtures("people")
def test_due_json_has_days_left(cli: Cli) -> None:
    visits = json.loads(ok(cli("due", "--as-of", "2026-04-20", "--format", "json")))

    assert [(v["visit_id"], v["window_end"], v["days_left"]) for v in visits] == [
        ("U-CT-01/FU/1", "2026-04-20", 0),
        ("C-HIGH-01/INF/1", "2026-04-20", 0),
        ("C-MED-01/INF/1", "2026-04-21", 1),
    ]


@pytest.mark.usefixtures("people")
def test_due_filters(cli: Cli) -> None:
    def due(*args: str) -> list[str]:
        found = json.loads(ok(cli("due", "--as-of", "2026-04-20", *args, "--format", "json")))
        return [v["visit_id"] for v in found]

    assert due("--kind", "infusion") == ["C-HIGH-01/INF/1", "C-MED-01/INF/1"]
    assert due("--protocol", "ucmsc-dlc") == ["U-CT-01/FU/1"]
    assert due("--protocol", "cs-huc-mscs", "--arm", "MED") == ["C-MED-01/INF/1"]
    assert due("--site", "NYC") == []
    # On 04-22 at NYC: U-G1-01/INF/2 (04-21..04-23), one day left.
    assert due("--site", "NYC", "--as-of", "2026-04-22") == ["U-G1-01/INF/2"]


@pytest.mark.usefixtures("people")
def test_due_csv_has_days_left(cli: Cli) -> None:
    lines = ok(cli("due", "--as-of", "2026-04-20", "--format", "csv")).splitlines()

    assert lines[0].endswith(",uid,days_left")
    assert [line.split(",")[0] + "," + line.rsplit(",", 1)[1] for line in lines[1:]] == [
        "U-CT-01/FU/1,0",
        "C-HIGH-01/INF/1,0",
        "C-MED-01/INF/1,1",
    ]


@pytest.mark.usefixtures("people")
def test_one_visit_one_participant(cli: Cli) -> None:
    out = ok(cli("due", "--as-of", "2026-04-22", "--site", "NYC"))
    assert out.splitlines()[-1] == "1 visit, 1 participant"
    assert out.splitlines()[1].endswith("Infusion 2/4  04-21..04-23  1 day left")


@pytest.mark.usefixtures("people")
def test_nothing_due(cli: Cli) -> None:
    assert ok(cli("due", "--as-of", "2025-01-01")) == "(no visits)\n"
    assert ok(cli("due", "--as-of", "2025-01-01", "--format", "json")) == "[]\n"


@pytest.mark.usefixtures("people")
def test_overdue_json_has_days_overdue(cli: Cli) -> None:
    # On 04-25: U-G1-01/INF/1 (window end 04-19) 6 days, C-HIGH-01/INF/1 (04-20) 5,
    # U-CT-01/FU/1 (04-20) 5, C-MED-01/INF/1 (04-21) 4, U-G1-01/INF/2 (04-23) 2,
    # C-HIGH-01/IHFU/1 (day 4 = 04-22, 04-21..04-23) 2, C-MED-01/IHFU/1 (04-23, to 04-24) 1.
    visits = json.loads(ok(cli("overdue", "--as-of", "2026-04-25", "--format", "json")))

    assert [(v["visit_id"], v["days_overdue"]) for v in visits] == [
        ("U-G1-01/INF/1", 6),
        ("U-CT-01/FU/1", 5),
        ("C-HIGH-01/INF/1", 5),
        ("C-MED-01/INF/1", 4),
        ("C-HIGH-01/IHFU/1", 2),  # same window end and target: by participant
        ("U-G1-01/INF/2", 2),
        ("C-MED-01/IHFU/1", 1),
    ]


@pytest.mark.usefixtures("people")
def test_overdue_table_ends_with_the_count(cli: Cli) -> None:
    lines = ok(cli("overdue", "--as-of", "2026-04-20", "--kind", "infusion")).splitlines()
    assert lines == [
        "DATE        TIME  VISIT          WHAT          WINDOW        LATE BY",
        "2026-04-18        U-G1-01/INF/1  Infusion 1/4  04-17..04-19  1 day",
        "1 visit, 1 participant",
    ]


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    "args",
    [
        ("due", "--kind", "infusions"),
        ("upcoming", "--kind", "Infusion"),
        ("overdue", "--kind", "lab"),
        ("site", "capacity", "WUH", "--kind", "chairs", "--per-day", "2"),
    ],
)
def test_an_unknown_kind_is_refused(cli: Cli, db_path: Any, args: tuple[str, ...]) -> None:
    before = dump(db_path)
    result = cli(*args)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"planner: error: unknown kind {args[args.index('--kind') + 1]!r} "
        "(kinds: call, infusion, visit)\n"
    )
    assert dump(db_path) == before


@pytest.mark.usefixtures("people")
def test_due_with_bad_input(cli: Cli) -> None:
    site = cli("due", "--site", "PAR")
    assert (site.exit_code, site.stderr) == (
        2,
        "planner: error: unknown site 'PAR' (sites: NYC, WUH)\n",
    )
    day = cli("due", "--as-of", "2026-02-30")
    assert day.exit_code == 2
    assert day.stderr.count("\n") == 1


# ------------------------------------------------------- the partition, a property

ARMS = [("cs-huc-mscs", "LOW"), ("cs-huc-mscs", "HIGH"), ("ucmsc-dlc", "G1"),
        ("ucmsc-dlc", "G2"), ("ucmsc-dlc", "CTRL")]  # fmt: skip
FIRST = date(2026, 1, 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    enrolments=st.lists(
        st.tuples(st.sampled_from(ARMS), st.integers(0, 300), st.sampled_from(["WUH", "NYC"])),
        min_size=1,
        max_size=6,
    ),
    done=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 30), st.booleans()), max_size=6),
    day=st.integers(-30, 1200),
)
def test_not_yet_due_due_and_overdue_partition_the_scheduled_visits(
    enrolments: list[tuple[tuple[str, str], int, str]],
    done: list[tuple[int, int, bool]],
    day: int,
) -> None:
    as_of = FIRST + timedelta(days=day)
    with Planner("sqlite://", clock=lambda: datetime(2030, 1, 1)) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        planner.add_site("NYC", "America/New_York")
        for n, ((protocol, arm), offset, site) in enumerate(enrolments):
            planner.enroll(f"P-{n}", protocol, arm, site, FIRST + timedelta(days=offset))
        for who, which, completed in done:
            visits = [v for v in planner.schedule(f"P-{who % len(enrolments)}")
                      if v.status == "scheduled"]  # fmt: skip
            if visits:
                visit = visits[which % len(visits)]
                if completed:
                    planner.complete(visit.visit_id, visit.target)
                else:
                    planner.miss(visit.visit_id)
        scheduled = {v.visit_id: v for v in planner.visits() if v.status == "scheduled"}
        due = [d.visit.visit_id for d in planner.due(as_of)]
        overdue = [d.visit.visit_id for d in planner.overdue_by(as_of)]
        not_yet = [k for k, v in scheduled.items() if v.window_start > as_of]

        assert len(due) == len(set(due)) and len(overdue) == len(set(overdue))
        assert sorted(due + overdue + not_yet) == sorted(scheduled)
        assert all(scheduled[v].window_start <= as_of <= scheduled[v].window_end for v in due)
        assert all(scheduled[v].window_end < as_of for v in overdue)
        assert set(overdue) == {v.visit_id for v in planner.overdue(as_of)}


@st.composite
def generated_protocols(draw: st.DrawFn) -> str:
    """A small protocol TOML: 1-3 series, each counted from day 1 or from its
    previous occurrence, with random intervals and windows."""
    series = []
    for index in range(draw(st.integers(1, 3))):
        before, after = draw(st.integers(0, 5)), draw(st.integers(0, 5))
        chained = draw(st.booleans())
        every = draw(st.integers(max(1, before + after), 30))
        count = draw(st.integers(1, 6))
        anchor = '\nanchor = "previous"' if chained else ""
        series.append(
            f"""
[[schedule]]
code = "S{index}"
label = "Series {index}"
kind = "{draw(st.sampled_from(["visit", "infusion", "call"]))}"
window = {{ before = {before}, after = {after} }}
timing = {{ every = {every}, count = {count}, start = {draw(st.integers(1, 20))} }}{anchor}
"""
        )
    return 'id = "generated"\ntitle = "Generated"\n[[arms]]\ncode = "A"\nlabel = "A"\n' + "".join(
        series
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    protocol=generated_protocols(),
    day1s=st.lists(st.integers(0, 60), min_size=1, max_size=4),
    completed=st.lists(st.integers(0, 40), max_size=4),
    day=st.integers(-10, 400),
)
def test_the_partition_holds_for_generated_protocols(
    tmp_path_factory: pytest.TempPathFactory,
    protocol: str,
    day1s: list[int],
    completed: list[int],
    day: int,
) -> None:
    path = tmp_path_factory.mktemp("protocol") / "generated.toml"
    path.write_text(protocol, encoding="utf-8")
    as_of = FIRST + timedelta(days=day)
    with Planner("sqlite://", clock=lambda: datetime(2030, 1, 1)) as planner:
        planner.add_protocol(str(path))
        planner.add_site("WUH", "Asia/Shanghai", closed="sun")
        for n, offset in enumerate(day1s):
            planner.enroll(f"G-{n}", "generated", "A", "WUH", FIRST + timedelta(days=offset))
        for pick in completed:
            open_ = [v for v in planner.visits() if v.status == "scheduled"]
            if open_:
                visit = open_[pick % len(open_)]
                planner.complete(visit.visit_id, visit.target)
        scheduled = {v.visit_id: v for v in planner.visits() if v.status == "scheduled"}
        due = [d.visit.visit_id for d in planner.due(as_of)]
        overdue = [d.visit.visit_id for d in planner.overdue_by(as_of)]
        not_yet = [k for k, v in scheduled.items() if v.window_start > as_of]
        assert sorted(due + overdue + not_yet) == sorted(scheduled)
        assert all(scheduled[v].window_start <= as_of <= scheduled[v].window_end for v in due)
        assert all(scheduled[v].window_end < as_of for v in overdue)
