"""``planner audit``: who changed what, and when."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from planner.cli.params import FORMAT
from planner.cli.root import emit, main, open_planner

if TYPE_CHECKING:
    from planner.cli.render import Format


@main.command()
@click.argument("code", metavar="PARTICIPANT", required=False)
@FORMAT
@click.pass_context
def audit(ctx: click.Context, code: str | None, fmt: Format) -> None:
    """The audit trail (everything, or one participant's)."""
    from planner.cli.render import render_audit

    emit(render_audit(open_planner(ctx).audit(code), fmt))
