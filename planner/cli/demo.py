"""``planner demo``: two sites, every arm of both bundled protocols, calendars.

Idempotent: sites and participants that exist already are left alone, so a
second run adds nothing and fails on nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

import click

from planner.cli.params import DATE
from planner.cli.root import emit, main, open_planner

if TYPE_CHECKING:
    from planner.app import Planner
    from planner.core.enrolment import Enrolment

#: Two sites: one without daylight saving, one with.
SITES = (
    ("WUH", "Asia/Shanghai", "Wuhan demo site"),
    ("NYC", "America/New_York", "New York demo site"),
)
#: Day 1 of the n-th participant at a site, in days from today.
DAY1_OFFSETS = (-170, -60, -21, -9, -2, 3)


@main.command()
@click.option("--out", "out_dir", default="demo-out", show_default=True, metavar="DIR",
              help="Where the .ics files go.")  # fmt: skip
@click.option("--today", type=DATE, help="Pretend today is this date [default: today].")
@click.pass_context
def demo(ctx: click.Context, out_dir: str, today: date | None) -> None:
    """Enrol demo participants in every arm, list what is due, write calendars."""
    run_demo(open_planner(ctx), out_dir, today, emit)


def demo_enrolments(planner: Planner, today: date) -> list[Enrolment]:
    """Every arm of every bundled protocol at each site, day 1 spread around today."""
    from planner.core.bundled import BUNDLED_IDS
    from planner.core.enrolment import Enrolment

    enrolments = []
    for site, _, _ in SITES:
        number = 0
        for protocol_id in BUNDLED_IDS:
            protocol = planner.protocol(protocol_id)
            for arm in protocol.arm_codes():
                offset = DAY1_OFFSETS[number % len(DAY1_OFFSETS)]
                number += 1
                per_kg = protocol.arm(arm).dose_per_kg is not None
                enrolments.append(
                    Enrolment(
                        participant=f"{site}-{number:03d}",
                        protocol=protocol_id,
                        arm=arm,
                        site=site,
                        day1=today + timedelta(days=offset),
                        weight_kg=58.0 + number if per_kg else None,
                    )
                )
    return enrolments


def run_demo(
    planner: Planner, out_dir: str, today: date | None, emit: Callable[[str], None]
) -> None:
    from planner.cli.render import render_visits

    today = today or planner.today("UTC")
    existing = {site.code for site in planner.sites()}
    for code, zone, name in SITES:
        if code not in existing:
            planner.add_site(code, zone, name)
    new = _new_enrolments(planner, today)
    planner.enroll_many(new)
    # The calendars first, so that they are written even if nobody reads the table.
    written = _write_calendars(planner, out_dir)

    emit(f"{len(new)} participants enrolled ({len(SITES) * 6 - len(new)} were there already)")
    emit("")
    emit(f"Visits due in the 14 days from {today}:")
    emit(render_visits(planner.upcoming(today, 14), "table", status=False))
    emit("")
    for line in written:
        emit(line)
    emit("")
    emit("Nurses can subscribe instead of importing: `planner feed create --site WUH` prints a")
    emit("secret feed path; `planner serve` serves it on http://127.0.0.1:8000 (see README).")


def _new_enrolments(planner: Planner, today: date) -> list[Enrolment]:
    """The demo enrolments whose participant is not there yet."""
    from planner.core.errors import NotFound

    new = []
    for enrolment in demo_enrolments(planner, today):
        try:
            planner.schedule(enrolment.participant)
        except NotFound:
            new.append(enrolment)
    return new


def _write_calendars(planner: Planner, out_dir: str) -> list[str]:
    """One .ics file per demo site in ``out_dir``; a line about each."""
    from planner.app import ExportScope

    os.makedirs(out_dir, exist_ok=True)
    written = []
    for code, _, _ in SITES:
        path = os.path.join(out_dir, f"{code}.ics")
        size = planner.exports.write(path, planner.exports.ics(ExportScope(site=code)))
        written.append(f"wrote {path} ({size} bytes)")
    return written
