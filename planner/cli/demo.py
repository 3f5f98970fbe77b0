"""``planner demo``: two sites, every arm of both bundled protocols, calendars,
a coordinator's web login and a calendar feed for each site.

Idempotent: sites, participants, the login and the feeds that exist already
are left alone, so a second run adds nothing and fails on nothing. The
login's password and the feeds' links are secrets, printed only when made.

It runs only on an empty database or one it made: made-up participants, and
a login with access to every site, have no place in a real trial's database.
Its options are checked before anything is written.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

import click

from planner.cli.params import DATE
from planner.cli.root import emit, main, open_planner, root_option

if TYPE_CHECKING:
    from planner.app import Planner
    from planner.core.enrolment import Enrolment

#: Two sites: one without daylight saving, one with.
SITES = (
    ("WUH", "Asia/Shanghai", "Wuhan demo site"),
    ("NYC", "America/New_York", "New York demo site"),
)
#: The demo's web login: a coordinator of both sites.
DEMO_USER = "demo"
#: The label of the demo's feeds (one per site).
DEMO_FEED_LABEL = "demo"
#: Where `planner serve` answers by default.
SERVED_AT = "http://127.0.0.1:8000/"
#: Day 1 of the n-th participant at a site, in days from today.
DAY1_OFFSETS = (-170, -60, -21, -9, -2, 3)


@main.command()
@click.option("--out", "out_dir", default="demo-out", show_default=True, metavar="DIR",
              help="Where the .ics files go.")  # fmt: skip
@click.option("--today", type=DATE, help="Pretend today is this date [default: today].")
@click.pass_context
def demo(ctx: click.Context, out_dir: str, today: date | None) -> None:
    """Enrol demo participants in every arm, list what is due, write calendars."""
    run_demo(open_planner(ctx), out_dir, today, emit, root_option(ctx, "db"))


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
    planner: Planner,
    out_dir: str,
    today: date | None,
    emit: Callable[[str], None],
    planner_db: str | None = None,
) -> None:
    from planner.cli.render import render_visits

    today = today or planner.today("UTC")
    _check_today(today)
    _check_out(out_dir)
    _check_demo_database(planner)
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
    for line in [*_demo_login(planner), *_demo_feeds(planner)]:
        emit(line)
    emit("")
    emit(f"Serve the pages and the feeds: {serve_command(planner_db)}")
    emit(f"then open {SERVED_AT} and log in as {DEMO_USER}.")


def _check_today(today: date) -> None:
    """Every demo day 1 must be a date planner accepts."""
    from planner.core.dates import check_date

    for offset in (min(DAY1_OFFSETS), max(DAY1_OFFSETS)):
        try:
            check_date(today + timedelta(days=offset))
        except (ValueError, OverflowError):
            raise _bad_today(today) from None


def _bad_today(today: date) -> Exception:
    from planner.core.errors import InputError

    return InputError(
        f"--today {today} puts the demo's days 1 outside 1900-2200 "
        f"({min(DAY1_OFFSETS)} to +{max(DAY1_OFFSETS)} days around it)",
        field="today",
        value=today.isoformat(),
    )


def _check_out(out_dir: str) -> None:
    """The calendars' folder exists or can be made: before anything is written."""
    from planner.core.errors import InputError

    if not out_dir.strip():
        raise InputError("the --out folder name is empty", field="out", value=out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InputError(f"--out {out_dir!r} is not a folder", field="out", value=out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"cannot make the --out folder {out_dir!r}: {error.strerror}", field="out"
        ) from None


def _check_demo_database(planner: Planner) -> None:
    """Refuse a database the demo did not make that holds anything: a site, a
    participant or a user. One it made (a demo site is there, with the demo's
    name and zone) may have had more added since, and takes the demo again."""
    from planner.core.errors import Conflict

    demo_sites = {code: (zone, name) for code, zone, name in SITES}
    sites = planner.sites()
    if any(demo_sites.get(s.code) == (s.timezone, s.name) for s in sites):
        return
    held = [s.code for s in sites] + [u.name for u in planner.users.list()]
    held += [p.participant for p in planner.participants()]
    if held:
        raise Conflict(
            "planner demo enrols made-up participants and adds a login: it runs only on an "
            f"empty database or one it made, and this one holds {held[0]!r}; "
            "give it another with --db (for example --db demo.db)",
            field="db",
        )


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

    written = []
    for code, _, _ in SITES:
        path = os.path.join(out_dir, f"{code}.ics")
        size = planner.exports.write(path, planner.exports.ics(ExportScope(site=code)))
        written.append(f"wrote {path} ({size} bytes)")
    return written


def _demo_login(planner: Planner) -> list[str]:
    """The demo coordinator, made once; its password is printed only then."""
    from planner.core.errors import NotFound

    try:
        planner.users.one(DEMO_USER)
    except NotFound:
        added = planner.users.add(DEMO_USER, "coordinator", [code for code, _, _ in SITES])
        return [
            f"Web login (coordinator of {' and '.join(c for c, _, _ in SITES)}): "
            f"user {DEMO_USER}, password {added.password}",
            "(the password is shown only now)",
        ]
    return [
        f"Web login: user {DEMO_USER} exists already (its password was shown when it was made);",
        f"set a new one with `planner user passwd {DEMO_USER} --password-stdin`.",
    ]


def _demo_feeds(planner: Planner) -> list[str]:
    """A feed of each demo site, made once; its secret link is printed only then."""
    from planner.app import FeedScope

    existing = {
        feed.scope.value: feed.id
        for feed in planner.feeds.list()
        if feed.label == DEMO_FEED_LABEL and feed.scope.kind == "site" and feed.state == "active"
    }
    lines = []
    for code, _, _ in SITES:
        if code in existing:
            number = existing[code]
            lines.append(
                f"Calendar feed of {code}: feed {number} exists already; "
                f"`planner feed rotate {number}` prints a new link."
            )
        else:
            made = planner.feeds.create(FeedScope("site", code), DEMO_FEED_LABEL)
            lines.append(f"Calendar feed of {code}: {SERVED_AT.rstrip('/')}{made.path}")
    return lines


def serve_command(planner_db: str | None) -> str:
    """The command that serves this database (``--db`` when one was given)."""
    if planner_db is None:
        return "planner serve"
    return f"planner --db {shlex.quote(planner_db)} serve"
