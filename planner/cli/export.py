"""``planner export``: calendars and data for other programs.

``export ics`` and ``export visits`` stream to stdout, or write ``--output``
whole or not at all; ``export sdtm`` writes one file per domain into a folder,
every file or none.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from planner.cli.params import DATE, PROTOCOL, SITE
from planner.cli.root import main, open_planner

if TYPE_CHECKING:
    from planner.app import Planner


OUTPUT = click.option(
    "--output", "-o", type=click.Path(dir_okay=True),
    help="A file written whole or not at all; - for stdout [default: stdout].",
)  # fmt: skip
FORCE = click.option(
    "--force", is_flag=True, help="Replace the output even if it is an SQLite database."
)


@main.group()
def export() -> None:
    """Calendars and data for other programs."""


@export.command("ics")
@click.option("--participant", metavar="P")
@SITE
@PROTOCOL
@click.option(
    "--from",
    "start",
    type=DATE,
    help="Only visits on or after this date (the day a completed visit happened, "
    "else its planned day).",
)
@click.option("--to", "end", type=DATE, help="Only visits on or before this date (the same day).")
@click.option(
    "--include-cancelled/--no-include-cancelled",
    default=True,
    show_default=True,
    help="Cancelled visits stay in by default, so calendars learn of the change.",
)
@click.option("--alarm", metavar="DURATION", help="A reminder this long before (15m, 2h, 1d).")
@OUTPUT
@FORCE
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
    force: bool,
) -> None:
    """Visits as an iCalendar file for Outlook, Google, Apple or Thunderbird."""
    from planner.app import ExportScope
    from planner.core.dates import parse_duration

    if start and end and end < start:
        raise click.BadParameter(f"--to {end} is before --from {start}")
    reminder = parse_duration(alarm, "alarm") if alarm is not None else None
    planner = open_planner(ctx)
    scope = ExportScope(participant, site_code, protocol_id, start, end, include_cancelled)
    _deliver(planner, planner.exports.ics(scope, alarm=reminder), output, force)


def _deliver(planner: Planner, chunks: Iterator[bytes], output: str | None, force: bool) -> None:
    """Stream to stdout (also for ``-o -``), or write ``output`` whole (saying so on stderr)."""
    if output is None or output == "-":
        stream: BinaryIO = sys.stdout.buffer
        for chunk in chunks:
            stream.write(chunk)
        stream.flush()
        return
    size = planner.exports.write(output, _shown(chunks, output), force=force)
    click.echo(f"wrote {output} ({size} bytes)", err=True)


def _shown(chunks: Iterator[bytes], output: str) -> Iterator[bytes]:
    """The chunks, drawing how much is written on stderr when it is a terminal
    (scripts and pipes stay clean); the total is not known before the end."""
    if not sys.stderr.isatty():
        yield from chunks
        return
    written = 0

    def shown(_: object) -> str:
        return f"{written / 1e6:.1f} MB"

    with click.progressbar(
        chunks, label=f"writing {output}", file=sys.stderr, item_show_func=shown
    ) as bar:
        for chunk in bar:
            written += len(chunk)
            yield chunk


@export.command("visits")
@click.option("--participant", metavar="P")
@SITE
@PROTOCOL
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json", "ndjson"]), default="json",
    show_default=True,
    help="A JSON array, one JSON object a line, or CSV with a header.",
)  # fmt: skip
@OUTPUT
@FORCE
@click.pass_context
def export_visits(
    ctx: click.Context,
    participant: str | None,
    site_code: str | None,
    protocol_id: str | None,
    fmt: str,
    output: str | None,
    force: bool,
) -> None:
    """Every visit with every field (as in --format json), for data managers.

    Streamed: memory stays flat however many visits there are. In CSV, cells
    starting with = + - @ get a leading ' so spreadsheets do not run them.
    """
    from planner.app import ExportScope

    planner = open_planner(ctx)
    scope = ExportScope(participant, site_code, protocol_id)
    _deliver(planner, planner.exports.visits(scope, fmt), output, force)


class DateTimeParam(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 date and time: 2026-05-20T09:30:00, with Z or an offset, or not."""

    name = "ISO-DATETIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date and time", param, ctx)


@export.command("sdtm")
@click.option("--protocol", "protocol_id", metavar="ID", required=True)
@click.option("--study-id", metavar="STUDYID", required=True, help="The SDTM STUDYID.")
@click.option("--out", "out_dir", metavar="DIR", required=True, help="The folder to write into.")
@click.option(
    "--format", "fmt", default="dataset-json", show_default=True,
    type=click.Choice(["dataset-json", "ndjson", "xpt", "csv"]),
    help="CDISC Dataset-JSON v1.1, its NDJSON form, SAS transport v5 (needs the sdtm extra), CSV.",
)  # fmt: skip
@click.option("--domains", metavar="TA,TE,TV,SV", default="TA,TE,TV,SV", show_default=True)
@click.option(
    "--created", type=DateTimeParam(),
    help="datasetJSONCreationDateTime (same data and time: same bytes) [default: now, UTC].",
)  # fmt: skip
@click.pass_context
def export_sdtm(
    ctx: click.Context,
    protocol_id: str,
    study_id: str,
    out_dir: str,
    fmt: str,
    domains: str,
    created: datetime | None,
) -> None:
    """CDISC SDTM trial design (TA, TE, TV) and subject visits (SV) of a protocol.

    One file per domain in DIR (ta.json, sv.xpt...), all written or none.
    The mapping is in docs/sdtm.md.
    """
    from planner.app.sdtm import SdtmRequest

    request = SdtmRequest(protocol_id, study_id, out_dir, fmt, tuple(domains.split(",")), created)
    for written in open_planner(ctx).exports.sdtm(request):
        click.echo(f"wrote {written.path} ({written.rows} rows, {written.size} bytes)")
