"""``planner site``: sites, their time zones, closed days and caps."""

from __future__ import annotations

from datetime import date

import click

from planner.cli.params import DATE
from planner.cli.root import emit, main, open_planner


@main.group()
def site() -> None:
    """Sites and their time zones."""


@site.command("add")
@click.argument("code")
@click.option("--timezone", "zone", required=True, metavar="ZONE", help="IANA zone name.")
@click.option("--name", default="", help="A display name for the site.")
@click.option("--closed", default="", metavar="DAYS", help="Closed weekdays, e.g. sat,sun.")
@click.option("--holidays", metavar="COUNTRY", help="Public holidays observed, e.g. CN, US-NY.")
@click.pass_context
def site_add(
    ctx: click.Context, code: str, zone: str, name: str, closed: str, holidays: str | None
) -> None:
    """Add a site."""
    from planner.cli.describe import site_added

    info = open_planner(ctx).add_site(code, zone, name, closed=closed, holidays=holidays)
    emit(site_added(info))


@site.command("close")
@click.argument("code")
@click.argument("start", metavar="DATE", type=DATE)
@click.option("--to", "end", type=DATE, help="Last closed day of a range.")
@click.option("--reason", default="", help="Why (shown in the site calendar and audit).")
@click.pass_context
def site_close(ctx: click.Context, code: str, start: date, end: date | None, reason: str) -> None:
    """Close a site on a date or range; visits planned then are re-planned."""
    planner = open_planner(ctx)
    from planner.cli.enrol import progress_bar

    with progress_bar("re-planning") as progress:
        outcome = planner.calendars.close(code, start, end, reason, progress=progress)
    span = f"{start} to {end}" if end and end != start else f"{start}"
    count = len(outcome.replanned)
    emit(f"site {code} closed {span}; {count} {'visit' if count == 1 else 'visits'} re-planned")
    last = end or start
    moved = {change.visit for change in outcome.replanned}  # a step back may land on a closed day
    stuck = [
        (v, why)
        for v, why in planner.calendars.conflicts(site=code)
        if start <= v.target <= last or v.visit_id in moved
    ]
    if stuck:
        emit(
            "these stay on a closed day: their window has no open day, or a coordinator moved "
            "them there (see `planner conflicts`):"
        )
        for record, why in stuck:
            emit(f"  {record.visit_id}  {record.target}  {why}")


@site.command("capacity")
@click.argument("code")
@click.option("--kind", required=True, metavar="KIND", help="infusion, visit, call, ...")
@click.option("--per-day", type=int, required=True, metavar="N", help="0 removes the cap.")
@click.pass_context
def site_capacity(ctx: click.Context, code: str, kind: str, per_day: int) -> None:
    """Cap events of a kind per day (reported by `planner capacity`, not enforced)."""
    open_planner(ctx).calendars.set_capacity(code, kind, per_day)
    if per_day:
        emit(
            f"site {code}: at most {per_day} {kind} {'event' if per_day == 1 else 'events'} per day"
        )
    else:
        emit(f"site {code}: no cap on {kind} events")


@site.command("show")
@click.argument("code")
@click.option("--from", "start", type=DATE, help="[default: today at the site]")
@click.option("--months", type=click.IntRange(1, 24), default=3, show_default=True)
@click.pass_context
def site_show(ctx: click.Context, code: str, start: date | None, months: int) -> None:
    """A site's settings and its closed days for the coming months."""
    from planner.cli.describe import site_summary

    planner = open_planner(ctx)
    info = planner.site(code)
    calendars = planner.calendars
    first = start or calendars.today_at(code)
    emit(site_summary(info, calendars.calendar(code), calendars.capacities(code), first, months))


@site.command("list")
@click.pass_context
def site_list(ctx: click.Context) -> None:
    """List the sites."""
    from planner.cli.render import render_sites

    emit(render_sites(open_planner(ctx).sites()))
