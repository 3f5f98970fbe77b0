"""The shape of the code: layer contracts, module sizes, names, the README example,
and error messages that name no command-line option.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from planner.app import ExportScope, Planner
from planner.core.errors import PlannerError

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "planner"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_layer_contracts_hold() -> None:
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" not in done.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/leak.py", "import sqlalchemy\n", "The core is pure"),
        ("core/leak.py", "import planner.app\n", "The core is pure"),
        ("store/leak.py", "import planner.app.planner\n", "The store knows nothing"),
        ("cli/leak.py", "import sqlalchemy.orm\n", "The command line talks"),
    ],
)
def test_a_deliberate_violation_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    shutil.copytree(PACKAGE, tmp_path / "planner", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "planner" / module).write_text(line, encoding="utf-8")
    done = _lint_imports(tmp_path)
    assert done.returncode != 0
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken
    assert "leak" in broken


@pytest.mark.parametrize(
    "line", ["import pydantic\n", "from planner.store import records  # SQLAlchemy, indirectly\n"]
)
def test_the_reading_path_may_not_load_heavy_libraries(tmp_path: Path, line: str) -> None:
    """The short reading commands' modules (planner.app.quick and what it
    uses) import neither directly nor through another module."""
    shutil.copytree(PACKAGE, tmp_path / "planner", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    judged = tmp_path / "planner" / "app" / "judged.py"
    judged.write_text(judged.read_text(encoding="utf-8") + line, encoding="utf-8")
    done = _lint_imports(tmp_path)
    assert done.returncode != 0
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert "The command line's reading path" in broken
    assert "planner.app.judged" in broken


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_is_long_and_most_are_short() -> None:
    lengths = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in _modules()}
    too_long = {str(p.relative_to(ROOT)): n for p, n in lengths.items() if n > 300}
    assert too_long == {}
    assert statistics.median(lengths.values()) < 120


def test_no_module_shadows_the_standard_library() -> None:
    shadows = [str(p) for p in _modules() if p.stem in sys.stdlib_module_names]
    assert shadows == []


def test_the_readme_library_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    names: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), names)
    assert names["plan"][0].target == date(2026, 3, 2)
    # Today at the site (Asia/Shanghai, 17:00 there) is 2026-04-20: INF/1 and INF/2 are due.
    due = names["due"]
    assert due[0].visit_id == "WUH-001/INF/1"
    assert all(date(2026, 4, 20) <= v.target < date(2026, 4, 27) for v in due)
    assert names["outcome"].changes[0].visit == "WUH-001/INF/1"
    assert names["calendar"].startswith(b"BEGIN:VCALENDAR\r\n")


# ------------------------------------------ the library speaks no command line

CLI_WORDS = re.compile(r"--[a-z]|\bplanner [a-z]")


def _mistakes(planner: Planner, tmp: Path) -> list[Any]:
    """Every way a person can get a use case wrong, as calls."""
    day = date(2026, 4, 20)
    return [
        lambda: planner.upcoming(days=0),
        lambda: planner.upcoming(days=99999, site="WUH"),
        lambda: planner.upcoming(site="NOPE"),
        lambda: planner.upcoming(protocol="nope"),
        lambda: planner.overdue(site="NOPE"),
        lambda: planner.deviations(site="NOPE"),
        lambda: planner.calendars.capacity_report(day, 0),
        lambda: planner.calendars.capacity_report(day, 7, site="NOPE"),
        lambda: planner.calendars.set_capacity("WUH", "infusion", -1),
        lambda: planner.calendars.set_capacity("NOPE", "infusion", 2),
        lambda: planner.add_site("WUH", "Asia/Shanghai"),
        lambda: planner.add_site("bad code!", "Asia/Shanghai"),
        lambda: planner.add_site("NEW", "Mars/Olympus"),
        lambda: planner.add_site("NEW", "UTC", closed="someday"),
        lambda: planner.add_site("NEW", "UTC", holidays="XX"),
        lambda: planner.calendars.close("WUH", day, date(2026, 4, 1)),
        lambda: planner.calendars.close("NOPE", day),
        lambda: planner.site("NOPE"),
        lambda: planner.protocol("nope"),
        lambda: planner.add_protocol(str(tmp / "missing.toml")),
        lambda: planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", day),
        lambda: planner.enroll("bad code!", "cs-huc-mscs", "MED", "WUH", day),
        lambda: planner.enroll("WUH-009", "nope", "MED", "WUH", day),
        lambda: planner.enroll("WUH-009", "cs-huc-mscs", "NOPE", "WUH", day),
        lambda: planner.enroll("WUH-009", "cs-huc-mscs", "MED", "NOPE", day),
        lambda: planner.enroll("WUH-009", "cs-huc-mscs", "MED", "WUH", day, weight_kg=-3),
        lambda: planner.enroll_file(str(tmp / "missing.csv")),
        lambda: planner.schedule("NOPE-1"),
        lambda: planner.audit("NOPE-1"),
        lambda: planner.complete("not an id", day),
        lambda: planner.complete("WUH-001/NOPE/1", day),
        lambda: planner.complete("WUH-001/INF/1", date(2027, 1, 1)),
        lambda: planner.complete("WUH-001/INF/2", day, expected_revision=7),
        lambda: planner.move("WUH-001/INF/2", date(2027, 1, 1)),
        lambda: planner.move("WUH-001/INF/2", date(2026, 4, 23)),
        lambda: planner.miss("WUH-001/INF/9"),
        lambda: planner.withdraw("NOPE-1", day),
        lambda: planner.died("WUH-001", date(2027, 1, 1)),
        lambda: list(planner.exports.ics(ExportScope(participant="NOPE-1"))),
        lambda: list(planner.exports.ics(ExportScope(site="NOPE"))),
        lambda: list(planner.exports.ics(ExportScope(start=day, end=date(2026, 1, 1)))),
        lambda: planner.exports.write(str(tmp), iter([b""])),
        lambda: planner.exports.write(str(tmp / "db.sqlite"), iter([b""])),
        lambda: planner.exports.write(str(tmp / "no" / "such.ics"), iter([b""])),
        lambda: planner.backup(str(tmp / "db.sqlite")),
        lambda: planner.backup(""),
    ]


def test_no_library_error_names_a_command_line_option(tmp_path: Path) -> None:
    clock = lambda: datetime(2026, 4, 20, 9, 0)  # noqa: E731
    with Planner(str(tmp_path / "db.sqlite"), actor="test", clock=clock) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
        messages = []
        for mistake in _mistakes(planner, tmp_path):
            with pytest.raises(PlannerError) as raised:
                mistake()
            messages.append(str(raised.value))
    assert [m for m in messages if CLI_WORDS.search(m)] == []


def test_errors_say_which_input_is_wrong(tmp_path: Path) -> None:
    with Planner(str(tmp_path / "db.sqlite"), actor="test") as planner:
        with pytest.raises(PlannerError) as raised:
            planner.upcoming(days=0)
        assert (raised.value.field, raised.value.value) == ("days", 0)
        with pytest.raises(PlannerError) as raised:
            planner.upcoming(site="NOPE")
        assert (raised.value.field, raised.value.choices) == ("site", ())
        planner.add_site("WUH", "UTC")
        with pytest.raises(PlannerError) as raised:
            planner.overdue(site="NOPE")
        assert raised.value.choices == ("WUH",)
