"""The ``planner`` command: parse, call the API, print.

Errors are translated in one place (:class:`PlannerGroup`): one line on
stderr, exit 2 for usage and validation errors, 1 for the rest, never a
traceback. Heavy libraries are imported inside the commands that need them,
so ``planner --help`` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

import click

from planner.core.errors import PlannerError

if TYPE_CHECKING:
    from planner.app import Planner, SurvivalChoice

FORMATS = click.Choice(["table", "json", "csv"])


class DateParam(click.ParamType):  # type: ignore[type-arg]
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        from planner.core.dates import parse_date
        from planner.core.errors import InputError

        try:
            return parse_date(str(value), "date")
        except InputError as error:
            self.fail(str(error).removeprefix("date "), param, ctx)


DATE = DateParam()


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"planner: error: {message}", err=True)
    sys.exit(code)


class PlannerGroup(click.Group):
    """The root group: turns every expected error into one line on stderr."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        extra.pop("standalone_mode", None)
        try:
            result = super().main(args, prog_name or "planner", standalone_mode=False, **extra)
        except click.exceptions.Abort:
            _fail("interrupted", 130)
        except click.ClickException as error:
            message = " ".join(error.format_message().split())
            if isinstance(error, click.UsageError) and error.ctx is not None:
                message = f"{message} (see `{error.ctx.command_path} --help`)"
            _fail(message, error.exit_code)
        except PlannerError as error:
            _fail(" ".join(str(error).split()), error.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except Exception as error:  # a bug, or the database failing: still one line
            from sqlalchemy.exc import OperationalError

            if isinstance(error, OperationalError):
                _fail(f"database error: {' '.join(str(error.orig).split())}", 1)
            _fail(f"unexpected {type(error).__name__}: {' '.join(str(error).split())}", 1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=PlannerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="PATH|URL",
    help="Database file or SQLAlchemy URL [default: $PLANNER_DB, else planner.db].",
)
@click.option("--actor", metavar="NAME", help="Who is making changes (audit) [default: OS user].")
@click.version_option(package_name="planner")
@click.pass_context
def main(ctx: click.Context, db: str | None, actor: str | None) -> None:
    """Clinical-trial visit planner: protocols, enrolment, visits, calendars."""
    ctx.obj = {"db": db, "actor": actor}


def open_planner(ctx: click.Context) -> Planner:
    from planner.app import Planner

    root = ctx.find_root().obj or {}
    planner = Planner(root.get("db"), actor=root.get("actor"))
    ctx.call_on_close(planner.close)
    return planner


def emit(text: str) -> None:
    click.echo(text)


# ------------------------------------------------------------------ protocol


@main.group()
def protocol() -> None:
    """Bundled and added study protocols."""


@protocol.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def protocol_list(ctx: click.Context, fmt: str) -> None:
    """List the protocols that can be used for enrolment."""
    from planner.cli.render import render_csv, table

    infos = open_planner(ctx).protocols()
    rows = [
        {
            "id": i.id,
            "version": i.version,
            "arms": ",".join(i.arms),
            "source": "bundled" if i.bundled and i.version in (None, 1) else "added",
            "title": i.title,
        }
        for i in infos
    ]
    if fmt == "json":
        import json

        emit(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        emit(render_csv(["id", "version", "arms", "source", "title"], rows))
    else:
        emit(
            table(
                ["ID", "VERSION", "ARMS", "TITLE"],
                [
                    [str(r["id"]), str(r["version"] or "-"), str(r["arms"]), str(r["title"])]
                    for r in rows
                ],
            )
        )


@protocol.command("show")
@click.argument("protocol_id", metavar="ID")
@click.option("--arm", help="Only this arm.")
@click.option("--day1", type=DATE, help="Show dates for a participant with this day 1.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def protocol_show(
    ctx: click.Context, protocol_id: str, arm: str | None, day1: date | None, fmt: str
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


# ---------------------------------------------------------------------- site


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
    info = open_planner(ctx).add_site(code, zone, name, closed=closed, holidays=holidays)
    extra = "".join(
        [
            f", closed {info.closed_weekdays}" if info.closed_weekdays else "",
            f", {info.holidays} holidays" if info.holidays else "",
        ]
    )
    emit(f"added site {info.code} ({info.timezone}{extra})")


@site.command("close")
@click.argument("code")
@click.argument("start", metavar="DATE", type=DATE)
@click.option("--to", "end", type=DATE, help="Last closed day of a range.")
@click.option("--reason", default="", help="Why (shown in the site calendar and audit).")
@click.pass_context
def site_close(ctx: click.Context, code: str, start: date, end: date | None, reason: str) -> None:
    """Close a site on a date or range; visits planned then are re-planned."""
    changed = open_planner(ctx).close_site(code, start, end, reason)
    span = f"{start} to {end}" if end and end != start else f"{start}"
    emit(f"site {code} closed {span}; {changed} visits re-planned")


@site.command("capacity")
@click.argument("code")
@click.option("--kind", required=True, metavar="KIND", help="infusion, visit, call, ...")
@click.option("--per-day", type=int, required=True, metavar="N", help="0 removes the cap.")
@click.pass_context
def site_capacity(ctx: click.Context, code: str, kind: str, per_day: int) -> None:
    """Cap events of a kind per day (reported by `planner capacity`, not enforced)."""
    open_planner(ctx).set_capacity(code, kind, per_day)
    if per_day:
        emit(f"site {code}: at most {per_day} {kind} events per day")
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
    first = start or planner.today(info.timezone)
    emit(site_summary(info, planner.site_calendar(code), planner.capacities(code), first, months))


@site.command("list")
@click.pass_context
def site_list(ctx: click.Context) -> None:
    """List the sites."""
    from planner.cli.render import table

    sites = open_planner(ctx).sites()
    emit(
        table(["CODE", "TIMEZONE", "NAME"], [[s.code, s.timezone, s.name] for s in sites])
        if sites
        else "(no sites)"
    )


# -------------------------------------------------------------------- enroll


@main.command()
@click.argument("participant", required=False)
@click.option("--protocol", "protocol_id", metavar="ID")
@click.option("--arm", metavar="CODE")
@click.option("--site", "site_code", metavar="CODE")
@click.option("--day1", type=DATE)
@click.option("--weight-kg", type=float, metavar="KG")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=True), help="Enrol every row.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def enroll(
    ctx: click.Context,
    participant: str | None,
    protocol_id: str | None,
    arm: str | None,
    site_code: str | None,
    day1: date | None,
    weight_kg: float | None,
    csv_file: str | None,
    fmt: str,
) -> None:
    """Enrol a participant (or every row of --csv) and plan all visits.

    CSV columns: participant,protocol,arm,site,day1[,weight_kg]. All rows are
    checked first; one bad row names its line and nothing is written.
    """
    if csv_file is not None:
        if participant or protocol_id or arm or site_code or day1 or weight_kg:
            raise click.UsageError("--csv enrols from the file alone; give no other values")
        count = open_planner(ctx).enroll_csv(csv_file)
        emit(f"enrolled {count} participants from {csv_file}")
        return
    from planner.cli.render import render_visits
    from planner.core.enrolment import check_participant_code, parse_weight

    if participant is not None:
        check_participant_code(participant)
    parse_weight(weight_kg)
    missing = [
        name
        for name, value in (
            ("PARTICIPANT", participant),
            ("--protocol", protocol_id),
            ("--arm", arm),
            ("--site", site_code),
            ("--day1", day1),
        )
        if value is None
    ]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or give --csv FILE)")
    assert participant is not None and protocol_id is not None and arm is not None
    assert site_code is not None and day1 is not None
    records = open_planner(ctx).enroll(participant, protocol_id, arm, site_code, day1, weight_kg)
    if fmt == "table":
        emit(f"enrolled {participant} in {protocol_id} arm {arm} at {site_code}, day 1 {day1}")
    emit(render_visits(records, fmt))  # type: ignore[arg-type]


# ------------------------------------------------------------------- queries


@main.command()
@click.argument("participant")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def schedule(ctx: click.Context, participant: str, fmt: str) -> None:
    """Every visit of a participant."""
    from planner.cli.render import render_visits

    emit(render_visits(open_planner(ctx).schedule(participant), fmt))  # type: ignore[arg-type]


@main.command()
@click.option("--from", "start", type=DATE, help="First day [default: today at each site].")
@click.option("--days", type=click.IntRange(1, 3660), default=14, show_default=True)
@click.option("--site", "site_code", metavar="CODE")
@click.option("--protocol", "protocol_id", metavar="ID")
@click.option("--arm", metavar="CODE")
@click.option("--kind", metavar="KIND", help="infusion, visit, call, ...")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def upcoming(
    ctx: click.Context,
    start: date | None,
    days: int,
    site_code: str | None,
    protocol_id: str | None,
    arm: str | None,
    kind: str | None,
    fmt: str,
) -> None:
    """Scheduled visits due in the next N days."""
    from planner.cli.render import render_visits

    records = open_planner(ctx).upcoming(
        start, days, site=site_code, protocol=protocol_id, arm=arm, kind=kind
    )
    emit(render_visits(records, fmt, status=False))  # type: ignore[arg-type]


@main.command()
@click.option("--as-of", type=DATE, help="[default: today at each site]")
@click.option("--site", "site_code", metavar="CODE")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def overdue(ctx: click.Context, as_of: date | None, site_code: str | None, fmt: str) -> None:
    """Scheduled visits whose window has ended."""
    from planner.cli.render import render_visits

    records = open_planner(ctx).overdue(as_of, site=site_code)
    emit(render_visits(records, fmt, status=False))  # type: ignore[arg-type]


@main.command()
@click.option("--site", "site_code", metavar="CODE")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def deviations(ctx: click.Context, site_code: str | None, fmt: str) -> None:
    """Visits completed or moved outside their window."""
    from planner.cli.render import render_visits

    emit(render_visits(open_planner(ctx).deviations(site=site_code), fmt))  # type: ignore[arg-type]


@main.command()
@click.option("--site", "site_code", metavar="CODE")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def conflicts(ctx: click.Context, site_code: str | None, fmt: str) -> None:
    """Visits left on a closed day because their window had no open day."""
    import json

    from planner.cli.render import render_csv, visit_rows

    found = open_planner(ctx).conflicts(site=site_code)
    rows = [{**record.to_json(), "closed": why} for record, why in found]
    if fmt == "json":
        emit(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        emit(
            render_csv(["visit_id", "site", "target", "window_start", "window_end", "closed"], rows)
        )
    else:
        emit(visit_rows([record for record, _ in found], status=False))
        for record, why in found:
            emit(f"  {record.visit_id} on {record.target}: {why}")


@main.command()
@click.option("--site", "site_code", metavar="CODE")
@click.option("--from", "start", type=DATE, help="[default: today]")
@click.option("--days", type=click.IntRange(1, 3660), default=28, show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def capacity(
    ctx: click.Context, site_code: str | None, start: date | None, days: int, fmt: str
) -> None:
    """Days where scheduled events exceed a site's cap, with the visits involved."""
    import json

    from planner.cli.render import render_csv, table

    planner = open_planner(ctx)
    first = start or planner.today(planner.site(site_code).timezone if site_code else "UTC")
    problems = planner.capacity_report(first, days, site=site_code)
    rows = [
        {
            "site": p.site,
            "date": p.day.isoformat(),
            "kind": p.kind,
            "per_day": p.per_day,
            "count": p.count,
            "visits": list(p.visits),
        }
        for p in problems
    ]
    if fmt == "json":
        emit(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        columns = ["site", "date", "kind", "per_day", "count", "visits"]
        joined = (
            {**row, "visits": " ".join(p.visits)} for row, p in zip(rows, problems, strict=True)
        )
        emit(render_csv(columns, joined))
    elif not problems:
        emit(f"(no day over capacity in the {days} days from {first})")
    else:
        body = [
            [p.day.isoformat(), p.site, p.kind, f"{p.count}/{p.per_day}", " ".join(p.visits)]
            for p in problems
        ]
        emit(table(["DATE", "SITE", "KIND", "BOOKED", "VISITS"], body))


# --------------------------------------------------------------------- visit

REVISION = click.option(
    "--revision",
    type=click.IntRange(0, 1_000_000_000),
    metavar="N",
    help="The revision you looked at; refuse if the visit changed since.",
)


@main.group()
def visit() -> None:
    """Record what happened to a visit, or move it."""


@visit.command("complete")
@click.argument("visit_id", metavar="VISIT_ID")
@click.option("--on", "on", type=DATE, required=True)
@REVISION
@click.pass_context
def visit_complete(ctx: click.Context, visit_id: str, on: date, revision: int | None) -> None:
    """Record that a visit happened (outside its window: flagged as a deviation)."""
    records = open_planner(ctx).complete(visit_id, on, expected_revision=revision)
    _report_change(visit_id, records, "completed")


@visit.command("move")
@click.argument("visit_id", metavar="VISIT_ID")
@click.option("--to", "to", type=DATE, required=True)
@click.option("--reason", help="Why (kept in the audit trail).")
@click.option("--force", is_flag=True, help="Allow a date outside the window (a deviation).")
@REVISION
@click.pass_context
def visit_move(
    ctx: click.Context,
    visit_id: str,
    to: date,
    reason: str | None,
    force: bool,
    revision: int | None,
) -> None:
    """Move a scheduled visit; visits anchored on it are re-planned."""
    records = open_planner(ctx).move(
        visit_id, to, reason=reason, force=force, expected_revision=revision
    )
    _report_change(visit_id, records, "moved")


@visit.command("miss")
@click.argument("visit_id", metavar="VISIT_ID")
@REVISION
@click.pass_context
def visit_miss(ctx: click.Context, visit_id: str, revision: int | None) -> None:
    """Record that a scheduled visit did not happen."""
    records = open_planner(ctx).miss(visit_id, expected_revision=revision)
    _report_change(visit_id, records, "marked missed")


def _report_change(visit_id: str, records: Sequence[Any], what: str) -> None:
    from planner.cli.render import render_visits

    emit(f"{visit_id} {what}")
    emit(render_visits(records, "table"))


# --------------------------------------------------------------- participant


@main.group()
def participant() -> None:
    """Withdrawals and deaths."""


@participant.command("withdraw")
@click.argument("code", metavar="PARTICIPANT")
@click.option("--on", "on", type=DATE, required=True)
@click.option("--reason")
@click.option(
    "--keep-survival/--cancel-survival",
    "keep_survival",
    default=None,
    help="Keep or cancel survival follow-up [default: as the protocol marks it].",
)
@click.pass_context
def participant_withdraw(
    ctx: click.Context, code: str, on: date, reason: str | None, keep_survival: bool | None
) -> None:
    """Withdraw a participant: later visits are cancelled."""
    choice: SurvivalChoice = "protocol"
    if keep_survival is not None:
        choice = "keep" if keep_survival else "cancel"
    count = open_planner(ctx).withdraw(code, on, reason=reason, survival=choice)
    emit(f"{code} withdrawn on {on}; {count} later visits cancelled")


@participant.command("died")
@click.argument("code", metavar="PARTICIPANT")
@click.option("--on", "on", type=DATE, required=True)
@click.pass_context
def participant_died(ctx: click.Context, code: str, on: date) -> None:
    """Record a death: every later visit is cancelled."""
    count = open_planner(ctx).died(code, on)
    emit(f"{code} died on {on}; {count} later visits cancelled")


@main.command()
@click.argument("code", metavar="PARTICIPANT", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def audit(ctx: click.Context, code: str | None, fmt: str) -> None:
    """The audit trail (everything, or one participant's)."""
    import json

    from planner.cli.render import render_csv, table

    entries = open_planner(ctx).audit(code)
    rows = [entry.to_json() for entry in entries]
    if fmt == "json":
        emit(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        emit(
            render_csv(
                ["at", "actor", "action", "participant", "visit", "before", "after", "reason"], rows
            )
        )
    else:
        emit(
            table(
                ["AT (UTC)", "ACTOR", "ACTION", "WHAT", "CHANGE"],
                [
                    [
                        e.at.strftime("%Y-%m-%d %H:%M"),
                        e.actor,
                        e.action,
                        e.visit or e.participant or "",
                        _change_text(e.before, e.after),
                    ]
                    for e in entries
                ],
            )
            if entries
            else "(no audit entries)"
        )


def _change_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    after = after or {}
    before = before or {}
    parts = [
        f"{key} {before[key]}→{value}" if key in before else f"{key} {value}"
        for key, value in after.items()
        if key != "revision" and before.get(key, object()) != value
    ]
    return ", ".join(parts)


# ------------------------------------------------------------------------ db


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database to this version's schema (SQLite: backup first)."""
    from planner.store.engine import resolve_url
    from planner.store.migrate import HEAD, upgrade

    url = resolve_url((ctx.find_root().obj or {}).get("db"))
    copy = upgrade(url)
    if copy:
        emit(f"backup written to {copy}")
    emit(f"database is at schema revision {HEAD}")


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=True))
@click.pass_context
def db_backup(ctx: click.Context, file: str) -> None:
    """A consistent copy of an SQLite database, even while others write."""
    from planner.store.backup import backup_to

    planner = open_planner(ctx)
    pages = backup_to(planner.url, file)
    emit(f"backup of {pages} pages written to {file}")


# -------------------------------------------------------------------- export


@main.group()
def export() -> None:
    """Calendars and data for other programs."""


@export.command("ics")
@click.option("--participant", metavar="P")
@click.option("--site", "site_code", metavar="CODE")
@click.option("--protocol", "protocol_id", metavar="ID")
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
    from planner.core.ics import render
    from planner.store.engine import sqlite_path
    from planner.store.files import protected_paths, write_atomically

    if start and end and end < start:
        raise click.BadParameter(f"--to {end} is before --from {start}")
    reminder = parse_duration(alarm, "--alarm") if alarm else None
    planner = open_planner(ctx)
    scope = ExportScope(participant, site_code, protocol_id, start, end, include_cancelled)
    zones = planner.calendar_zones(scope)
    name = "planner: " + (
        participant or (f"site {site_code}" if site_code else protocol_id or "all visits")
    )
    chunks = render(planner.visits(scope), name=name, zones=zones, alarm=reminder)
    if output is None:
        stream: BinaryIO = sys.stdout.buffer
        for chunk in chunks:
            stream.write(chunk)
        stream.flush()
        return
    size = write_atomically(output, chunks, protect=protected_paths(sqlite_path(planner.url)))
    click.echo(f"wrote {output} ({size} bytes)", err=True)


# ---------------------------------------------------------------------- demo


@main.command()
@click.option("--out", "out_dir", default="demo-out", show_default=True, metavar="DIR",
              help="Where the .ics files go.")  # fmt: skip
@click.option("--today", type=DATE, help="Pretend today is this date [default: today].")
@click.pass_context
def demo(ctx: click.Context, out_dir: str, today: date | None) -> None:
    """Enrol demo participants in every arm, list what is due, write calendars."""
    from planner.cli.demo import run_demo

    planner = open_planner(ctx)
    run_demo(planner, out_dir, today, emit)
