"""docs/cli.md is the help of every command, exactly as the code gives it."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from planner.cli import main
from planner.cli.reference import contexts, reference

ROOT = Path(__file__).parent.parent
REGENERATE = "python -m planner.cli.reference > docs/cli.md"


def test_docs_cli_md_is_the_generated_reference() -> None:
    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")

    assert written == reference(), f"docs/cli.md is out of date; regenerate it: {REGENERATE}"


def test_every_group_and_command_has_a_section() -> None:
    text = reference()
    paths = [ctx.command_path for ctx in contexts(main)]

    assert paths[0] == "planner"
    assert len(paths) == len(set(paths)) > 20
    for path in paths:
        assert f"\n## {path}\n" in text
    assert text.count("\n## ") == len(paths)


def test_the_reference_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    before = reference()
    monkeypatch.setenv("COLUMNS", "40")

    assert reference() == before
    assert max(len(line) for line in before.splitlines()) <= 80


def test_a_new_command_gets_its_section() -> None:
    @click.group()
    def root() -> None:
        """Root."""

    @root.command()
    def hello() -> None:
        """Say hello."""

    text = reference(root)

    assert "## planner hello\n\n```text\nUsage: planner hello [OPTIONS]\n" in text
    assert "  Say hello.\n" in text
