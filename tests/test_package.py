"""The package's public names, the command line's start-up, and its docs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click

import planner
from planner.cli import main

ROOT = Path(__file__).parent.parent


def test_every_public_name_is_importable_and_listed() -> None:
    for name in planner.__all__:
        assert getattr(planner, name).__name__ == name
    assert planner.__all__ == sorted(planner.__all__)
    assert set(planner.__all__) == set(vars(planner)["_WHERE"])


def test_help_does_not_import_the_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from planner.cli import main\n"
        "heavy = [m for m in ('sqlalchemy', 'pydantic', 'icalendar', 'alembic', 'holidays')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_recording_a_visit_loads_only_what_it_uses(tmp_path: Path) -> None:
    """The Planner's groups (users, feeds, amendments, exports, calendars) are
    loaded when first used: ``visit complete`` needs none of them, nor Argon2."""
    from datetime import date

    from planner.app import Planner

    db = tmp_path / "x.db"
    with Planner(str(db), actor="t") as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
    groups = ("user_api", "feed_api", "amendment_api", "export_api", "calendar_api")
    code = (
        "import sys\n"
        "from planner.cli import main\n"
        f"sys.argv = ['planner', '--db', {str(db)!r}, 'visit', 'complete', 'WUH-001/INF/1',"
        " '--on', '2026-04-20']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"loaded = [m for m in {groups!r} if 'planner.app.' + m in sys.modules]\n"
        "print(','.join(loaded + [m for m in ('argon2', 'icalendar') if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == ""
    assert "WUH-001/INF/1 completed" in done.stdout
    with Planner(str(db), actor="t") as planner:  # the groups are there when asked for
        assert planner.calendars.capacities("WUH") == {}
        assert planner.users.list() == []


def _commands(group: click.Group, prefix: str = "planner") -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix} {name}"))
        else:
            found.append(f"{prefix} {name}")
    return found


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [
        command for command in _commands(main) if not re.search(re.escape(command) + r"\b", readme)
    ]
    assert missing == []


def test_readme_starts_with_the_two_commands_that_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2
    assert block[0].endswith("planner demo")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert block[1] in ci


def test_every_package_folder_is_installed() -> None:
    """pyproject lists packages by hand (migrations/ is installed as
    planner.migrations): a new folder left out would be missing from a
    non-editable install, as planner.store.repository once was."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "planner").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert listed == found | {"planner.migrations"}
