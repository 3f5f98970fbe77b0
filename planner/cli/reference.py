"""The command-line reference, generated from every command's ``--help``.

``docs/cli.md`` is this module's output; a test keeps the two equal::

    python -m planner.cli.reference > docs/cli.md
"""

from __future__ import annotations

from collections.abc import Iterator

import click

#: Help is wrapped at this width whatever the terminal, so the text is stable.
WIDTH = 80

HEADER = """\
# Command-line reference

Generated from `planner --help` and the help of every command by
`python -m planner.cli.reference > docs/cli.md`; do not edit by hand.
"""


def contexts(
    command: click.Command, parent: click.Context | None = None
) -> Iterator[click.Context]:
    """A context for ``command`` and for every command below it, depth first."""
    name = command.name if parent else "planner"
    settings = {} if parent else dict(command.context_settings)
    ctx = click.Context(command, parent=parent, info_name=name, terminal_width=WIDTH, **settings)
    yield ctx
    if isinstance(command, click.Group):
        for sub in sorted(command.commands):
            yield from contexts(command.commands[sub], ctx)


def reference(root: click.Command | None = None) -> str:
    """Markdown: one section per group and command, its help in a text block."""
    if root is None:
        from planner.cli import main

        root = main
    sections = [HEADER]
    for ctx in contexts(root):
        sections.append(f"## {ctx.command_path}\n\n```text\n{ctx.get_help()}\n```\n")
    return "\n".join(sections)


if __name__ == "__main__":
    click.echo(reference(), nl=False)
