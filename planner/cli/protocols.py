"""``planner protocol``: the bundled and added study protocols."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from planner.cli.params import DATE, FORMAT
from planner.cli.root import emit, main, open_planner

if TYPE_CHECKING:
    from planner.cli.render import Format


@main.group()
def protocol() -> None:
    """Bundled and added study protocols."""


@protocol.command("list")
@FORMAT
@click.pass_context
def protocol_list(ctx: click.Context, fmt: Format) -> None:
    """List the protocols that can be used for enrolment."""
    from planner.cli.render import render_protocols

    emit(render_protocols(open_planner(ctx).protocols(), fmt))


@protocol.command("show")
@click.argument("protocol_id", metavar="ID")
@click.option("--arm", help="Only this arm.")
@click.option("--day1", type=DATE, help="Show dates for a participant with this day 1.")
@FORMAT
@click.pass_context
def protocol_show(
    ctx: click.Context, protocol_id: str, arm: str | None, day1: date | None, fmt: Format
) -> None:
    """Show a protocol's schedule, as study days or (with --day1) as dates."""
    from planner.cli.describe import protocol_schedule

    planner = open_planner(ctx)
    emit(protocol_schedule(planner.protocol(protocol_id), arm, day1, fmt))


@protocol.command("check")
@click.argument("file", type=click.Path(dir_okay=True))
def protocol_check(file: str) -> None:
    """Validate a protocol file without storing it."""
    from planner.core.protocol import load

    loaded = load(file)
    emit(f"{file}: valid protocol {loaded.id!r} with arms {', '.join(loaded.arm_codes())}")


@protocol.command("add")
@click.argument("file", type=click.Path(dir_okay=True))
@click.pass_context
def protocol_add(ctx: click.Context, file: str) -> None:
    """Store a protocol file (a changed file becomes a new version)."""
    loaded, version, added = open_planner(ctx).add_protocol(file)
    if added:
        emit(f"added {loaded.id} version {version}")
    else:
        emit(f"{loaded.id} version {version} is unchanged; nothing stored")
