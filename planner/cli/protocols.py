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
    """List the protocols, every stored version and the participants on it."""
    from planner.cli.render_amendments import render_versions

    planner = open_planner(ctx)
    emit(render_versions(planner.protocols(), planner.amendments.versions(), fmt))


@protocol.command("show")
@click.argument("protocol_id", metavar="ID")
@click.option(
    "--version",
    "number",
    type=click.IntRange(min=1),
    help="This stored version [default: the latest].",
)
@click.option("--arm", help="Only this arm.")
@click.option("--day1", type=DATE, help="Show dates for a participant with this day 1.")
@click.option("--matrix", is_flag=True, help="The schedule of activities: series by study day.")
@FORMAT
@click.pass_context
def protocol_show(
    ctx: click.Context,
    protocol_id: str,
    number: int | None,
    arm: str | None,
    day1: date | None,
    matrix: bool,
    fmt: Format,
) -> None:
    """Show a protocol's schedule, as study days, (with --day1) as dates, or as a matrix."""
    from planner.cli.describe import protocol_schedule
    from planner.cli.render_amendments import render_matrix

    planner = open_planner(ctx)
    if number is None and not matrix:
        emit(protocol_schedule(planner.protocol(protocol_id), arm, day1, fmt))
        return
    found, version = planner.amendments.version(protocol_id, number)
    if matrix:
        emit(render_matrix(found, version, arm, fmt))
    else:
        emit(protocol_schedule(found, arm, day1, fmt))


@protocol.command("diff")
@click.argument("protocol_id", metavar="ID")
@click.option(
    "--from",
    "start",
    type=click.IntRange(min=1),
    metavar="N",
    help="The earlier version [default: the one before --to].",
)
@click.option(
    "--to",
    "end",
    type=click.IntRange(min=1),
    metavar="M",
    help="The later version [default: the latest].",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_context
def protocol_diff(
    ctx: click.Context, protocol_id: str, start: int | None, end: int | None, fmt: str
) -> None:
    """What changed between two versions: series added, removed and changed."""
    from planner.cli.render_amendments import render_diff

    emit(render_diff(open_planner(ctx).amendments.diff(protocol_id, start, end), fmt))


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
