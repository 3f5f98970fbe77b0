"""The commands that only read: schedule, upcoming, due, overdue,
participants, deviations, conflicts and capacity."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from planner.cli.params import ARM, DATE, FORMAT, KIND, PROTOCOL, SITE
from planner.cli.root import emit, main, open_planner, root_option

if TYPE_CHECKING:
    from planner.cli.render import Format


@main.command()
@click.argument("participant")
@FORMAT
@click.pass_context
def schedule(ctx: click.Context, participant: str, fmt: Format) -> None:
    """Every visit of a participant (the table starts with their status)."""
    from planner.cli.render import render_visits
    from planner.cli.render_participants import status_line

    info, records = open_planner(ctx).participant_schedule(participant)
    if fmt == "table":
        emit(status_line(info))
    emit(render_visits(records, fmt))


@main.command()
@click.option("--from", "start", type=DATE, help="First day [default: today at each site].")
@click.option("--days", type=click.IntRange(1, 3660), default=14, show_default=True)
@SITE
@PROTOCOL
@ARM
@KIND
@FORMAT
@click.pass_context
def upcoming(
    ctx: click.Context,
    start: date | None,
    days: int,
    site_code: str | None,
    protocol_id: str | None,
    arm: str | None,
    kind: str | None,
    fmt: Format,
) -> None:
    """Scheduled visits due in the next N days."""
    from planner.app import quick
    from planner.cli.render import render_visits

    plain = (protocol_id, arm, kind) == (None, None, None)
    records = quick.upcoming(root_option(ctx, "db"), start, days, site_code) if plain else None
    if records is None:
        records = open_planner(ctx).upcoming(
            start, days, site=site_code, protocol=protocol_id, arm=arm, kind=kind
        )
    emit(render_visits(records, fmt, status=False, count=True))


AS_OF = click.option(
    "--as-of", type=DATE, help="The day to judge on [default: today at each site]."
)


@main.command()
@AS_OF
@SITE
@PROTOCOL
@ARM
@KIND
@FORMAT
@click.pass_context
def due(
    ctx: click.Context,
    as_of: date | None,
    site_code: str | None,
    protocol_id: str | None,
    arm: str | None,
    kind: str | None,
    fmt: Format,
) -> None:
    """Scheduled visits whose window is open on the day, the soonest to close first.

    JSON and CSV add days_left: the days from the day to the window's end.
    """
    from planner.app import quick
    from planner.cli.render import render_judged

    plain = (protocol_id, arm, kind) == (None, None, None)
    found = quick.due(root_option(ctx, "db"), as_of, site_code) if plain else None
    if found is None:
        planner = open_planner(ctx)
        found = planner.due(as_of, site=site_code, protocol=protocol_id, arm=arm, kind=kind)
    emit(render_judged(found, fmt, "days_left"))


@main.command()
@AS_OF
@SITE
@PROTOCOL
@ARM
@KIND
@FORMAT
@click.pass_context
def overdue(
    ctx: click.Context,
    as_of: date | None,
    site_code: str | None,
    protocol_id: str | None,
    arm: str | None,
    kind: str | None,
    fmt: Format,
) -> None:
    """Scheduled visits whose window has ended, the longest overdue first.

    JSON and CSV add days_overdue: the days from the window's end to the day.
    """
    from planner.app import quick
    from planner.cli.render import render_judged

    plain = (protocol_id, arm, kind) == (None, None, None)
    found = quick.overdue(root_option(ctx, "db"), as_of, site_code) if plain else None
    if found is None:
        planner = open_planner(ctx)
        found = planner.overdue_by(as_of, site=site_code, protocol=protocol_id, arm=arm, kind=kind)
    emit(render_judged(found, fmt, "days_overdue"))


@main.command()
@SITE
@PROTOCOL
@click.option(
    "--status",
    type=click.Choice(["on-study", "withdrawn", "died", "finished"]),
    help="on-study: visits left; finished: none left (neither withdrawn nor died).",
)
@FORMAT
@click.pass_context
def participants(
    ctx: click.Context,
    site_code: str | None,
    protocol_id: str | None,
    status: str | None,
    fmt: Format,
) -> None:
    """Every participant: site, protocol, arm, status, next visit, visit counts."""
    from planner.cli.render_participants import render_participants

    found = open_planner(ctx).participants(site=site_code, protocol=protocol_id, status=status)
    emit(render_participants(found, fmt))


@main.command()
@SITE
@FORMAT
@click.pass_context
def deviations(ctx: click.Context, site_code: str | None, fmt: Format) -> None:
    """Visits completed or moved outside their window."""
    from planner.cli.render import render_visits

    emit(render_visits(open_planner(ctx).deviations(site=site_code), fmt, count=True))


@main.command()
@SITE
@FORMAT
@click.pass_context
def conflicts(ctx: click.Context, site_code: str | None, fmt: Format) -> None:
    """Scheduled visits on a closed day: their window had no open day, or one was moved there."""
    from planner.cli.render import render_conflicts

    emit(render_conflicts(open_planner(ctx).calendars.conflicts(site=site_code), fmt))


@main.command()
@SITE
@click.option("--from", "start", type=DATE, help="[default: today]")
@click.option("--days", type=click.IntRange(1, 3660), default=28, show_default=True)
@FORMAT
@click.pass_context
def capacity(
    ctx: click.Context, site_code: str | None, start: date | None, days: int, fmt: Format
) -> None:
    """Days where scheduled events exceed a site's cap, with the visits involved."""
    from planner.cli.render import render_capacity

    problems = open_planner(ctx).calendars.capacity_report(start, days, site=site_code)
    emit(render_capacity(problems, fmt, start, days))
