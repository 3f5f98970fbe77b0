"""The commands that only read: schedule, upcoming, overdue, deviations,
conflicts and capacity."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from planner.cli.params import ARM, DATE, FORMAT, KIND, PROTOCOL, SITE
from planner.cli.root import emit, main, open_planner

if TYPE_CHECKING:
    from planner.cli.render import Format


@main.command()
@click.argument("participant")
@FORMAT
@click.pass_context
def schedule(ctx: click.Context, participant: str, fmt: Format) -> None:
    """Every visit of a participant."""
    from planner.cli.render import render_visits

    emit(render_visits(open_planner(ctx).schedule(participant), fmt))


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
    from planner.cli.render import render_visits

    records = open_planner(ctx).upcoming(
        start, days, site=site_code, protocol=protocol_id, arm=arm, kind=kind
    )
    emit(render_visits(records, fmt, status=False))


@main.command()
@click.option("--as-of", type=DATE, help="[default: today at each site]")
@SITE
@FORMAT
@click.pass_context
def overdue(ctx: click.Context, as_of: date | None, site_code: str | None, fmt: Format) -> None:
    """Scheduled visits whose window has ended."""
    from planner.cli.render import render_visits

    records = open_planner(ctx).overdue(as_of, site=site_code)
    emit(render_visits(records, fmt, status=False))


@main.command()
@SITE
@FORMAT
@click.pass_context
def deviations(ctx: click.Context, site_code: str | None, fmt: Format) -> None:
    """Visits completed or moved outside their window."""
    from planner.cli.render import render_visits

    emit(render_visits(open_planner(ctx).deviations(site=site_code), fmt))


@main.command()
@SITE
@FORMAT
@click.pass_context
def conflicts(ctx: click.Context, site_code: str | None, fmt: Format) -> None:
    """Visits left on a closed day because their window had no open day."""
    from planner.cli.render import render_conflicts

    emit(render_conflicts(open_planner(ctx).conflicts(site=site_code), fmt))


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

    planner = open_planner(ctx)
    first = start or planner.today(planner.site(site_code).timezone if site_code else "UTC")
    emit(render_capacity(planner.capacity_report(first, days, site=site_code), fmt, first, days))
