"""Bad input never crashes: one line on stderr, the right exit code, nothing written.

Every case runs through the real entry point (the ``cli`` fixture) against a
database that already holds a site and a participant, and checks:

- exactly one line on stderr, starting ``planner: error:``, and nothing on stdout;
- exit 2 for the user's input (1 only where the table says why it is not);
- no traceback, and no ``unexpected ...`` message (that wording is the CLI's
  last-resort handler for exceptions nobody anticipated, i.e. a crash);
- the database unchanged (``conftest.dump`` before and after) and no stray
  file left in the working folder.

A hypothesis test then feeds :func:`planner.core.protocol.parse` generated protocol
files, valid and broken, and accepts only a StudyProtocol or a ProtocolError.
"""

from __future__ import annotations

import json
import shutil
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from planner.cli import main
from planner.core.errors import ProtocolError
from planner.core.protocol import StudyProtocol, parse
from tests.conftest import dump

Cli = Callable[..., Any]

SQL_QUOTE = "'; DROP TABLE visits; --"
SQL_OR = '" OR 1=1'
HUGE_CODE = "P" * 10_000
ENROLL = ("--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH", "--day1", "2026-03-02")
HEADER = b"participant,protocol,arm,site,day1\n"


@dataclass(frozen=True)
class Case:
    """One bad command line. ``{tmp}`` and ``{db}`` in arguments are replaced."""

    id: str
    args: tuple[str, ...]
    #: Files made in the test folder first: name -> bytes.
    files: dict[str, bytes] = field(default_factory=dict)
    #: Expected exit code: 2 for the user's input, 1 otherwise (see ``why``).
    code: int = 2
    #: Why a failure is not the user's input (only for code 1).
    why: str = ""
    #: What to pass as --db instead of the test's database ("{tmp}" allowed).
    db: str | None = None


def enroll(*, participant: str = "P-002", **changes: str) -> tuple[str, ...]:
    values = dict(zip(ENROLL[::2], ENROLL[1::2], strict=True))
    values.update({f"--{name.replace('_', '-')}": value for name, value in changes.items()})
    return ("enroll", participant, *(part for pair in values.items() for part in pair))


def csv_case(name: str, body: bytes) -> Case:
    return Case(name, ("enroll", "--csv", "{tmp}/in.csv"), {"in.csv": body})


def protocol_case(name: str, body: bytes, command: str = "add") -> Case:
    return Case(name, ("protocol", command, "{tmp}/p.toml"), {"p.toml": body})


CASES: list[Case] = [
    # ---------------------------------------------------------- unknown ids
    Case("unknown-participant-schedule", ("schedule", "NOPE-9")),
    Case("unknown-participant-withdraw",
         ("participant", "withdraw", "NOPE-9", "--on", "2026-04-01")),
    Case("unknown-participant-died", ("participant", "died", "NOPE-9", "--on", "2026-04-01")),
    Case("unknown-participant-export", ("export", "ics", "--participant", "NOPE-9")),
    Case("unknown-participant-audit", ("audit", "NOPE-9")),
    Case("unknown-visit-occurrence", ("visit", "complete", "P-001/INF/9", "--on", "2026-03-02")),
    Case("unknown-visit-event", ("visit", "move", "P-001/NOPE/1", "--to", "2026-03-30")),
    Case("unknown-visit-participant", ("visit", "miss", "NOPE-9/INF/1")),
    Case("malformed-visit-id", ("visit", "miss", "P-001")),
    Case("visit-id-huge-occurrence",
         ("visit", "complete", "P-001/INF/" + "9" * 25, "--on", "2026-03-02")),
    Case("visit-id-superscript-digit", ("visit", "complete", "P-001/INF/²", "--on", "2026-03-02")),
    Case("unknown-site-enroll", enroll(site="NOPE")),
    Case("unknown-site-upcoming", ("upcoming", "--site", "NOPE")),
    Case("unknown-site-overdue", ("overdue", "--site", "NOPE")),
    Case("unknown-site-close", ("site", "close", "NOPE", "2026-05-01")),
    Case("unknown-protocol-enroll", enroll(protocol="nope")),
    Case("unknown-protocol-show", ("protocol", "show", "nope")),
    Case("unknown-protocol-export", ("export", "ics", "--protocol", "nope")),
    Case("unknown-arm-enroll", enroll(arm="G9")),
    # A filter on an arm nobody has would say "no visits" for a typo.
    Case("unknown-arm-upcoming", ("upcoming", "--arm", "g1")),
    Case("unknown-arm-due", ("due", "--arm", "NOPE")),
    Case("unknown-arm-overdue", ("overdue", "--arm", "ctrl")),
    Case("arm-of-another-protocol-upcoming",
         ("upcoming", "--arm", "LOW", "--protocol", "ucmsc-dlc")),
    Case("full-width-digits-in-a-date",
         ("visit", "complete", "P-001/INF/1", "--on", "\uff12\uff10\uff12\uff16-03-02")),
    Case("arm-of-the-other-protocol", enroll(arm="LOW")),
    Case("unknown-arm-show", ("protocol", "show", "ucmsc-dlc", "--arm", "G9")),
    # ---------------------------------------------------- impossible dates
    Case("day1-february-30", enroll(day1="2026-02-30")),
    Case("complete-month-13", ("visit", "complete", "P-001/INF/1", "--on", "2026-13-01")),
    Case("upcoming-from-february-30", ("upcoming", "--from", "2026-02-30")),
    Case("withdraw-on-day-32", ("participant", "withdraw", "P-001", "--on", "2026-01-32")),
    Case("day1-year-0001", enroll(day1="0001-01-01")),
    Case("complete-in-the-future", ("visit", "complete", "P-001/INF/1", "--on", "2099-01-01")),
    Case("died-in-the-future", ("participant", "died", "P-001", "--on", "2099-01-01")),
    # ------------------------------------------------ dates in other forms
    Case("day1-day-month-year", enroll(day1="02/03/2026")),
    Case("move-to-compact-date", ("visit", "move", "P-001/FU/1", "--to", "20260330")),
    Case("overdue-unpadded-date", ("overdue", "--as-of", "2026-3-2")),
    Case("complete-with-a-time", ("visit", "complete", "P-001/INF/1", "--on", "2026-03-02T09:00")),
    # -------------------------------------------------------- empty values
    Case("empty-participant-enroll", enroll(participant="")),
    Case("empty-protocol-enroll", enroll(protocol="")),
    Case("empty-arm-enroll", enroll(arm="")),
    Case("empty-site-enroll", enroll(site="")),
    Case("empty-day1", enroll(day1="")),
    Case("empty-participant-schedule", ("schedule", "")),
    Case("empty-visit-id", ("visit", "complete", "", "--on", "2026-03-02")),
    Case("empty-site-code", ("site", "add", "", "--timezone", "UTC")),
    Case("empty-timezone", ("site", "add", "NEW", "--timezone", "")),
    Case("empty-csv-path", ("enroll", "--csv", "")),
    # --------------------------------------------------------- huge values
    Case("huge-participant-enroll", enroll(participant=HUGE_CODE)),
    Case("huge-participant-schedule", ("schedule", HUGE_CODE)),
    Case("huge-participant-withdraw", ("participant", "withdraw", HUGE_CODE, "--on", "2026-04-01")),
    Case("huge-days", ("upcoming", "--days", "999999")),
    Case("huge-site-name", ("site", "add", "NEW", "--timezone", "UTC", "--name", "n" * 10_000)),
    Case("huge-weight", enroll(weight_kg="1e308")),
    Case("huge-csv-cell", ("enroll", "--csv", "{tmp}/in.csv"),
         {"in.csv": HEADER + b"P-002,ucmsc-dlc,G1,WUH," + b"9" * 10_000 + b"\n"}),
    # ---------------------------------------------------------- bad files
    csv_case("csv-not-utf8", HEADER + b"P-\xff\xfe2,ucmsc-dlc,G1,WUH,2026-03-02\n"),
    csv_case("csv-missing-columns", b"participant,protocol,arm\nP-002,ucmsc-dlc,G1\n"),
    csv_case("csv-duplicated-rows", HEADER + b"P-002,ucmsc-dlc,G1,WUH,2026-03-02\n" * 2),
    csv_case("csv-already-enrolled", HEADER + b"P-001,ucmsc-dlc,G1,WUH,2026-03-02\n"),
    csv_case("csv-code-with-slash", HEADER + b"P/002,ucmsc-dlc,G1,WUH,2026-03-02\n"),
    csv_case("csv-code-with-newline", HEADER + b'"P-0\n02",ucmsc-dlc,G1,WUH,2026-03-02\n'),
    csv_case("csv-bad-date", HEADER + b"P-002,ucmsc-dlc,G1,WUH,2026-02-30\n"),
    csv_case("csv-short-row", HEADER + b"P-002,ucmsc-dlc,G1,WUH\n"),
    csv_case("csv-empty", b""),
    csv_case("csv-header-only", b"\xef\xbb\xbf" + HEADER),
    csv_case("csv-nul-bytes", HEADER + b"P-002,ucmsc-dlc,G1,WUH,2026-03-02\x00\n"),
    csv_case("csv-sql-in-cells",
             HEADER + f"P-002,{SQL_QUOTE},{SQL_OR},{SQL_QUOTE},2026-03-02\n".encode()),
    protocol_case("protocol-not-utf8", b'id = "x\xff"\ntitle = "t"\n'),
    protocol_case("protocol-check-not-utf8", b'id = "x\xff"\n', command="check"),
    protocol_case("protocol-not-toml", b"this is not toml {{{\n"),
    protocol_case("protocol-arms-a-string",
                  b'id = "x"\ntitle = "t"\narms = "G1"\n'
                  b'[[schedule]]\ncode = "V"\nlabel = "v"\nkind = "visit"\n'
                  b"timing = { days = [1] }\n"),
    protocol_case("protocol-schedule-a-table",
                  b'id = "x"\ntitle = "t"\n[[arms]]\ncode = "A"\nlabel = "a"\n'
                  b'[schedule]\ncode = "V"\nlabel = "v"\nkind = "visit"\n'),
    protocol_case("protocol-empty-file", b""),
    protocol_case("protocol-sql-id",
                  f'id = "{SQL_QUOTE}"\ntitle = "t"\n[[arms]]\ncode = "A"\nlabel = "a"\n'
                  '[[schedule]]\ncode = "V"\nlabel = "v"\nkind = "visit"\n'
                  "timing = { days = [1] }\n".encode()),
    Case("protocol-missing-file", ("protocol", "add", "{tmp}/nope.toml")),
    Case("protocol-folder", ("protocol", "check", "{tmp}")),
    Case("csv-is-a-folder", ("enroll", "--csv", "{tmp}")),
    Case("csv-missing-file", ("enroll", "--csv", "{tmp}/nope.csv")),
    # --------------------------------------------------- codes and zones
    Case("participant-code-with-slash", enroll(participant="P/002")),
    Case("participant-code-with-newline", enroll(participant="P-0\n02")),
    Case("visit-id-with-newline", ("visit", "complete", "P-001/INF/1\n", "--on", "2026-03-02")),
    Case("unknown-timezone", ("site", "add", "NEW", "--timezone", "Mars/Olympus")),
    Case("timezone-offset-not-a-zone", ("site", "add", "NEW", "--timezone", "+08:00")),
    Case("site-exists-already", ("site", "add", "WUH", "--timezone", "Asia/Shanghai")),
    # ------------------------------------------ SQL metacharacters, every field
    Case("sql-participant-enroll", enroll(participant=SQL_QUOTE)),
    Case("sql-participant-schedule", ("schedule", SQL_OR)),
    Case("sql-participant-died", ("participant", "died", SQL_QUOTE, "--on", "2026-04-01")),
    Case("sql-site-code-add", ("site", "add", SQL_QUOTE, "--timezone", "UTC")),
    Case("sql-site-code-upcoming", ("upcoming", "--site", SQL_OR)),
    Case("sql-site-code-enroll", enroll(site=SQL_QUOTE)),
    Case("sql-site-name", ("site", "add", "WUH", "--timezone", "UTC", "--name", SQL_QUOTE)),
    Case("sql-reason-move",
         ("visit", "move", "P-001/FU/1", "--to", "2026-06-01", "--reason", SQL_QUOTE)),
    Case("sql-reason-withdraw",
         ("participant", "withdraw", "NOPE-9", "--on", "2026-04-01", "--reason", SQL_OR)),
    Case("sql-reason-site-close", ("site", "close", "NOPE", "2026-05-01", "--reason", SQL_QUOTE)),
    Case("sql-actor-move",
         ("--actor", SQL_QUOTE, "visit", "move", "P-001/FU/1", "--to", "2026-06-01")),
    Case("sql-actor-site", ("--actor", SQL_OR, "site", "add", "WUH", "--timezone", "UTC")),
    Case("sql-protocol-enroll", enroll(protocol=SQL_QUOTE)),
    Case("sql-protocol-show", ("protocol", "show", SQL_OR)),
    Case("sql-protocol-upcoming", ("upcoming", "--protocol", SQL_QUOTE)),
    Case("sql-arm-enroll", enroll(arm=SQL_QUOTE)),
    Case("sql-arm-show", ("protocol", "show", "ucmsc-dlc", "--arm", SQL_OR)),
    Case("sql-visit-id", ("visit", "complete", SQL_QUOTE + "/INF/1", "--on", "2026-03-02")),
    # --------------------------------------------------- outputs and --db
    Case("output-is-the-database", ("export", "ics", "--output", "{db}")),
    Case("output-is-the-wal", ("export", "ics", "--output", "{db}-wal")),
    Case("output-in-missing-folder", ("export", "ics", "--output", "{tmp}/nope/x.ics")),
    Case("output-is-a-folder", ("export", "ics", "--output", "{tmp}")),
    Case("backup-onto-the-database", ("db", "backup", "{db}")),
    Case("backup-to-empty-path", ("db", "backup", "")),
    Case("bad-alarm", ("export", "ics", "--alarm", "0m")),
    Case("export-to-before-from", ("export", "ics", "--from", "2026-05-01", "--to", "2026-04-01")),
    Case("unknown-format", ("schedule", "P-001", "--format", "xml")),
    Case("unknown-command", ("nosuchcommand",)),
    Case("csv-with-other-values", ("enroll", "P-002", "--csv", "{tmp}/nope.csv")),
    Case("db-unknown-url-scheme", ("schedule", "P-001"), db="nosuch://x"),
    Case("db-not-a-database", ("schedule", "P-001"), {"text.db": b"hello, not a database\n"},
         code=1, why="--db names an existing file that is not a database: the environment",
         db="{tmp}/text.db"),
    Case("db-in-missing-folder", ("schedule", "P-001"), code=1,
         why="the database cannot be opened: the environment", db="{tmp}/nope/planner.db"),
]  # fmt: skip


def test_the_table_is_large_and_well_formed() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)
    for case in CASES:
        assert case.code in (1, 2), case.id
        assert (case.code == 1) == bool(case.why), f"{case.id}: say why a failure is exit 1"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with site WUH and participant P-001, made through the CLI once."""
    path = tmp_path_factory.mktemp("template") / "planner.db"
    runner = CliRunner()
    for args in (
        ["site", "add", "WUH", "--timezone", "Asia/Shanghai", "--name", "Wuhan"],
        ["enroll", "P-001", *ENROLL],
    ):
        result = runner.invoke(main, [f"--db={path}", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
    assert not Path(f"{path}-wal").exists()
    return path


@pytest.fixture
def prepared(template: Path, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's database, a copy of the template; the working folder is tmp_path."""
    shutil.copyfile(template, db_path)
    monkeypatch.chdir(tmp_path)
    return dump(db_path)


def folder_listing(folder: Path, db_path: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith(db_path.name)}


def assert_one_error_line(result: Any, code: int) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exit_code == code, (result.exit_code, result.stderr[:500])
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[:500]
    assert lines[0].startswith("planner: error: "), lines[0][:500]
    assert not lines[0].startswith("planner: error: unexpected "), lines[0][:500]
    return str(lines[0])


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gives_one_line_and_changes_nothing(
    cli: Cli, db_path: Path, tmp_path: Path, prepared: str, case: Case
) -> None:
    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path)).replace("{db}", str(db_path))

    for name, body in case.files.items():
        (tmp_path / name).write_bytes(body)
    before_files = folder_listing(tmp_path, db_path)
    kwargs = {"db": fill(case.db)} if case.db is not None else {}

    result = cli(*(fill(arg) for arg in case.args), **kwargs)

    assert_one_error_line(result, case.code)
    assert dump(db_path) == prepared
    assert folder_listing(tmp_path, db_path) == before_files
    for name, body in case.files.items():
        assert (tmp_path / name).read_bytes() == body


def test_an_empty_db_option_is_refused_not_taken_as_the_default(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--db ""`` (say ``--db "$UNSET"``) must not quietly make ./planner.db and write there."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    result = cli("site", "add", "NEW", "--timezone", "UTC", db="")

    assert_one_error_line(result, 2)
    assert "--db" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_csv_with_a_byte_order_mark_works(
    cli: Cli, db_path: Path, tmp_path: Path, prepared: str
) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER + b"P-002,ucmsc-dlc,G2,WUH,2026-03-05\n")

    result = cli("enroll", "--csv", str(path))

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    schedule = json.loads(cli("schedule", "P-002", "--format", "json").stdout)
    assert [v["visit_id"] for v in schedule][:2] == ["P-002/INF/1", "P-002/INF/2"]
    assert len(schedule) == 8  # ucmsc-dlc G2: 2 infusions, 5 follow-ups, 1 call


def test_sql_metacharacters_in_free_text_are_stored_as_text(
    cli: Cli, db_path: Path, prepared: str
) -> None:
    """Where text is allowed (site name, reason, actor) it is kept verbatim, harmlessly."""
    assert cli("site", "add", "NEW", "--timezone", "UTC", "--name", SQL_QUOTE).exit_code == 0
    moved = cli("--actor", SQL_OR, "visit", "move", "P-001/FU/1", "--to", "2026-03-31",
                "--reason", SQL_QUOTE)  # fmt: skip
    assert moved.exit_code == 0, moved.stderr

    entries = json.loads(cli("audit", "--format", "json").stdout)
    move = next(e for e in entries if e["action"] == "move")
    assert (move["actor"], move["reason"]) == (SQL_OR, SQL_QUOTE)
    assert "NEW" in cli("site", "list").stdout
    assert SQL_QUOTE in cli("site", "list").stdout
    assert len(json.loads(cli("schedule", "P-001", "--format", "json").stdout)) == 10


# ------------------------------------------------------------------ hypothesis

#: Every key the protocol format knows, where it is used.
TOP_KEYS = ["id", "title", "registry", "description", "arms", "schedule"]
ARM_KEYS = ["code", "label", "description", "dose", "dose_per_kg"]
SERIES_KEYS = [
    "code", "label", "kind", "contact", "setting", "dose", "window", "windows", "time",
    "duration_minutes", "arms", "survival", "timing", "anchor",
]  # fmt: skip
TIMING_KEYS = ["days", "weeks", "months", "every", "unit", "count", "start"]
WINDOW_KEYS = ["before", "after"]
ANCHOR_KEYS = ["event", "occurrence", "kind"]
DOSE_KEYS = ["amount", "unit"]
ALL_KEYS = sorted(
    {*TOP_KEYS, *ARM_KEYS, *SERIES_KEYS, *TIMING_KEYS, *WINDOW_KEYS, *ANCHOR_KEYS, *DOSE_KEYS}
)


def typo(key: str) -> st.SearchStrategy[str]:
    """A key misspelt: a letter dropped, doubled, swapped or capitalised."""
    index = st.integers(0, max(len(key) - 1, 0))
    return st.one_of(
        index.map(lambda i: key[:i] + key[i + 1 :] or "x"),
        index.map(lambda i: key[: i + 1] + key[i:]),
        index.map(lambda i: key[:i] + key[i + 1 : i + 2] + key[i : i + 1] + key[i + 2 :]),
        st.just(key.upper()),
        st.just(key + "s"),
        st.just(key.replace("_", "-")),
    )


def keys(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).flatmap(typo),
        st.sampled_from(ALL_KEYS),
        st.text(string.ascii_letters + "_- .é", min_size=1, max_size=10),
    )


TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
SCALARS: st.SearchStrategy[Any] = st.one_of(
    TEXT,
    st.sampled_from(["day1", "previous", "days", "weeks", "in-person", "phone", "inpatient",
                     "remote", "09:00", "24:00", "9:00", "G1", "A", "V", "INF", "visit", ""]),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, 2, 4, 366, 367, 500, 501, 2000, 7305, 7306, 240, 241, 1440]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=date(1, 1, 1)),
    st.times(),
)  # fmt: skip
ANY: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys(ALL_KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)


def table(known: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A table with mostly the right keys, sometimes typos, sometimes wrong values."""
    right = st.fixed_dictionaries({}, optional=known)
    wrong = st.dictionaries(keys(list(known)), st.one_of(ANY, *known.values()), max_size=5)
    return st.one_of(right, wrong, st.builds(lambda a, b: {**a, **b}, right, wrong))


def ints(low: int, high: int) -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(low, high), st.integers(low - 3, high + 3), SCALARS)


WINDOW = table({"before": ints(0, 366), "after": ints(0, 366)})
TIMING = table(
    {
        "days": st.lists(ints(-30, 400), min_size=1, max_size=6),
        "weeks": st.lists(ints(-2, 60), min_size=1, max_size=6),
        "months": st.lists(ints(0, 30), min_size=1, max_size=4),
        "every": ints(1, 30),
        "unit": st.sampled_from(["days", "weeks", "months"]),
        "count": ints(1, 10),
        "start": ints(-10, 30),
    }
)
CODES = st.sampled_from(["A", "B", "G1", "INF", "FU", "V", "X"])
ANCHOR = st.one_of(
    st.sampled_from(["day1", "previous", "first", ""]),
    table({"event": CODES, "occurrence": ints(1, 5), "kind": st.sampled_from(["day1", "x"])}),
    ANY,
)
SERIES = table(
    {
        "code": CODES,
        "label": TEXT,
        "kind": st.sampled_from(["visit", "infusion", "call", "Visit", "x y"]),
        "contact": st.sampled_from(["in-person", "phone", "email"]),
        "setting": st.sampled_from(["inpatient", "outpatient", "remote", "home"]),
        "dose": TEXT,
        "window": WINDOW,
        "windows": st.lists(WINDOW, max_size=4),
        "time": st.sampled_from(["09:00", "23:59", "24:00", "9:00", "noon"]),
        "duration_minutes": ints(1, 1440),
        "arms": st.lists(CODES, max_size=3),
        "survival": st.booleans(),
        "timing": TIMING,
        "anchor": ANCHOR,
    }
)
ARM = table(
    {
        "code": CODES,
        "label": TEXT,
        "description": TEXT,
        "dose": TEXT,
        "dose_per_kg": table({"amount": st.floats(), "unit": TEXT}),
    }
)
PROTOCOL = table(
    {
        "id": st.sampled_from(["p", "my-trial", "UPPER", "", "a" * 70]),
        "title": TEXT,
        "registry": TEXT,
        "description": TEXT,
        "arms": st.one_of(st.lists(ARM, max_size=3), ANY),
        "schedule": st.one_of(st.lists(SERIES, max_size=4), ANY),
    }
)


def toml_key(key: str) -> str:
    bare = key and all(c in string.ascii_letters + string.digits + "_-" for c in key)
    return key if bare else json.dumps(key, ensure_ascii=False)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{toml_key(key)} = {toml_value(value)}\n" for key, value in data.items())


GOOD_TIMING = st.one_of(
    st.builds(lambda d: {"days": sorted(set(d))}, st.lists(st.integers(1, 400), min_size=1)),
    st.builds(lambda w: {"weeks": sorted(set(w))}, st.lists(st.integers(1, 60), min_size=1)),
    st.builds(lambda m: {"months": sorted(set(m))}, st.lists(st.integers(1, 24), min_size=1)),
    st.builds(
        lambda every, count, unit: {"every": every, "count": count, "unit": unit, "start": 1},
        st.integers(1, 30),
        st.integers(1, 10),
        st.sampled_from(["days", "weeks"]),
    ),
)
GOOD_SERIES = st.fixed_dictionaries(
    {"code": CODES, "label": st.just("Visit"), "kind": st.just("visit"), "timing": GOOD_TIMING},
    optional={
        "window": st.fixed_dictionaries({"before": st.integers(0, 9), "after": st.integers(0, 9)}),
        "anchor": st.one_of(
            st.sampled_from(["day1", "previous"]),
            st.fixed_dictionaries({"event": CODES, "occurrence": st.integers(1, 3)}),
        ),
        "time": st.sampled_from(["09:00", "14:30"]),
        "contact": st.sampled_from(["in-person", "phone"]),
        "survival": st.booleans(),
    },
)


def _code_of(table: Any) -> Any:
    return table["code"]


GOOD_PROTOCOL = st.fixed_dictionaries(
    {
        "id": st.just("tiny"),
        "title": st.just("Tiny"),
        "arms": st.lists(
            st.fixed_dictionaries({"code": CODES, "label": st.just("Arm")}),
            min_size=1,
            max_size=3,
            unique_by=_code_of,
        ),
        "schedule": st.lists(GOOD_SERIES, min_size=1, max_size=4),
    }
)


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A protocol that is right, or wrong in one place: a bad value or a misspelt key."""
    data = draw(GOOD_PROTOCOL)
    mutation = draw(st.sampled_from(["none", "none", "value", "key"]))
    if mutation == "none":
        return data
    target: Any = data
    while True:
        if isinstance(target, list) and target:
            place: Any = draw(st.integers(0, len(target) - 1))
        elif isinstance(target, dict) and target:
            place = draw(st.sampled_from(sorted(target)))
        else:
            return data
        if draw(st.booleans()) or not isinstance(target[place], dict | list):
            break
        target = target[place]
    if mutation == "key" and isinstance(target, dict):
        target[draw(typo(place))] = target.pop(place)
    else:
        target[place] = draw(ANY)
    return data


@st.composite
def protocol_texts(draw: st.DrawFn) -> str:
    text = toml_document(draw(st.one_of(PROTOCOL, near_valid())))
    damage = draw(st.sampled_from(["none", "none", "cut", "insert", "raw"]))
    if damage == "cut" and text:
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif damage == "insert":
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(['"', "[", "]]", "{", "=", "\n[[arms]]\n", "\\"]))
            + text[at:]
        )
    elif damage == "raw":
        text = draw(st.text(max_size=200))
    return text


VALID = """\
id = "tiny"
title = "A tiny protocol"
[[arms]]
code = "A"
label = "Arm A"
[[schedule]]
code = "V"
label = "Visit"
kind = "visit"
window = { before = 1, after = 1 }
timing = { every = 7, count = 3, start = 1 }
anchor = "previous"
"""


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocol_texts())
@example(VALID)
@example(VALID.replace('anchor = "previous"', 'anchor = { event = "V", occurrence = 1 }'))
@example(VALID.replace('anchor = "previous"', "anchor = { kind = 3 }"))
@example(VALID.replace("window = { before = 1, after = 1 }", "windows = [{ bogus = 1 }]"))
@example(VALID.replace("window = { before = 1, after = 1 }", "dose_per_kg = { x = 1 }"))
@example(
    VALID.replace('code = "A"', 'code = "A"\ndose_per_kg = { amount = 1.0, unit = "c", x = 1 }')
)
@example(VALID.replace("timing = {", "timing = { foo = 1, "))
@example(VALID.replace("timing = { every = 7, count = 3, start = 1 }", "timing = 5"))
@example('arms = "G1"\nschedule = { code = "V" }\n')
@example("")
@example("\ufeffid = 1")
def test_parse_returns_a_protocol_or_raises_protocol_error(text: str) -> None:
    try:
        protocol = parse(text, "generated.toml")
    except ProtocolError as error:
        assert error.problems
        assert "generated.toml" in str(error)
        return
    assert isinstance(protocol, StudyProtocol)


def test_the_python_api_takes_dates_in_the_command_lines_years(tmp_path: Path) -> None:
    """The shells parse dates; the use cases also refuse one outside 1900-2200
    (the web page once stored a year-1 date its timeline could not draw)."""
    from planner.app import Planner
    from planner.core.errors import InputError

    db = tmp_path / "x.db"
    with Planner(str(db), actor="t") as api:
        api.add_site("WUH", "Asia/Shanghai")
        api.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
        before = dump(db)
        far, early = date(9999, 12, 31), date(1, 1, 1)
        calls: list[tuple[str, Callable[[], object]]] = [
            ("on", lambda: api.complete("WUH-001/INF/1", date(1899, 12, 31))),
            ("to", lambda: api.move("WUH-001/INF/2", early, force=True)),
            ("on", lambda: api.add_visit("WUH-001", early, "typo")),
            ("on", lambda: api.withdraw("WUH-001", far)),
            ("on", lambda: api.died("WUH-001", early)),
            ("start", lambda: api.upcoming(far)),
            ("as_of", lambda: api.due(far)),
            ("as_of", lambda: api.overdue_by(far)),
            ("as_of", lambda: api.overdue(far)),
            ("start", lambda: api.calendars.close("WUH", far)),
            ("end", lambda: api.calendars.close("WUH", date(2026, 5, 1), far)),
            ("start", lambda: api.calendars.capacity_report(far, 7)),
        ]
        for name, call in calls:
            with pytest.raises(InputError, match="is outside 1900-2200") as refused:
                call()
            assert refused.value.field == name
        assert api.upcoming(date(2200, 12, 31), 1) == []
    assert dump(db) == before


def test_one_person_is_not_enrolled_twice_under_codes_differing_in_case(tmp_path: Path) -> None:
    from planner.app import Planner
    from planner.core.enrolment import Enrolment
    from planner.core.errors import Conflict, InputError

    db = tmp_path / "x.db"
    with Planner(str(db), actor="t") as api:
        api.add_site("WUH", "Asia/Shanghai")
        api.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
        before = dump(db)
        with pytest.raises(Conflict, match="'wuh-001' differs from the enrolled 'WUH-001'"):
            api.enroll("wuh-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
        two = [Enrolment(code, "cs-huc-mscs", "LOW", "WUH", date(2026, 4, 21))
               for code in ("WUH-002", "wuh-002")]  # fmt: skip
        with pytest.raises(InputError, match="'wuh-002' is given twice \\(as 'WUH-002'\\)"):
            api.enroll_many(two)
    assert dump(db) == before
