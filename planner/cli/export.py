"""``planner export``: calendars for other programs."""

from __future__ import annotations

import sys
from datetime import date
from typing import BinaryIO

import click

from planner.cli.params import DATE, PROTOCOL, SITE
from planner.cli.root import main, open_planner


@main.group()
def export() -> None:
    """Calendars and data for other programs."""


@export.command("ics")
@click.option("--participant", metavar="P")
@SITE
@PROTOCOL
@click.option("--from", "start", type=DATE, help="Only visits on or after this date.")
@click.option("--to", "end", type=DATE, help="Only visits on or before this date.")
@click.option(
    "--include-cancelled/--no-include-cancelled",
    default=True,
    show_default=True,
    help="Cancelled visits stay in by default, so calendars learn of the change.",
)
@click.option("--alarm", metavar="DURATION", help="A reminder this long before (15m, 2h, 1d).")
@click.option("--output", "-o", type=click.Path(dir_okay=True), help="[default: stdout]")
@click.pass_context
def export_ics(
    ctx: click.Context,
    participant: str | None,
    site_code: str | None,
    protocol_id: str | None,
    start: date | None,
    end: date | None,
    include_cancelled: bool,
    alarm: str | None,
    output: str | None,
) -> None:
    """Visits as an iCalendar file for Outlook, Google, Apple or Thunderbird."""
    from planner.app import ExportScope
    from planner.core.dates import parse_duration

    if start and end and end < start:
        raise click.BadParameter(f"--to {end} is before --from {start}")
    reminder = parse_duration(alarm, "alarm") if alarm else None
    planner = open_planner(ctx)
    scope = ExportScope(participant, site_code, protocol_id, start, end, include_cancelled)
    chunks = planner.export_ics(scope, alarm=reminder)
    if output is None:
        stream: BinaryIO = sys.stdout.buffer
        for chunk in chunks:
            stream.write(chunk)
        stream.flush()
        return
    size = planner.write_export(output, chunks)
    click.echo(f"wrote {output} ({size} bytes)", err=True)
