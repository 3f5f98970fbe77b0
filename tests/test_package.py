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
