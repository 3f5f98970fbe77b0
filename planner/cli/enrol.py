"""``planner enroll``: one participant, or every row of a CSV file."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from planner.cli.params import ARM, DATE, FORMAT, PROTOCOL, SITE, WEIGHT
from planner.cli.root import emit, main, open_planner

if TYPE_CHECKING:
    from planner.cli.render import Format


@main.command()
@click.argument("participant", required=False)
@PROTOCOL
@ARM
@SITE
@click.option("--day1", type=DATE)
@click.option("--weight-kg", type=WEIGHT, metavar="KG")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=True), help="Enrol every row.")
@click.option(
    "--skip-existing",
    is_flag=True,
    help="With --csv: skip rows identical to a participant already enrolled.",
)
@FORMAT
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
    skip_existing: bool,
    fmt: Format,
) -> None:
    """Enrol a participant (or every row of --csv) and plan all visits.

    CSV columns: participant,protocol,arm,site,day1[,weight_kg]. All rows are
    checked first; one bad row names its line and nothing is written.
    """
    if csv_file is not None:
        if participant or protocol_id or arm or site_code or day1 or weight_kg:
            raise click.UsageError("--csv enrols from the file alone; give no other values")
        _enroll_csv(ctx, csv_file, skip_existing, fmt)
        return
    if skip_existing:
        raise click.UsageError("--skip-existing applies to --csv only")
    from planner.cli.render import render_visits
    from planner.core.enrolment import check_participant_code, parse_weight

    if participant is not None:
        check_participant_code(participant)
    parse_weight(weight_kg)
    given: dict[str, object] = {"PARTICIPANT": participant, "--protocol": protocol_id, "--arm": arm}
    given |= {"--site": site_code, "--day1": day1}
    missing = [name for name, value in given.items() if value is None]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or give --csv FILE)")
    assert participant is not None and protocol_id is not None and arm is not None
    assert site_code is not None and day1 is not None
    records = open_planner(ctx).enroll(participant, protocol_id, arm, site_code, day1, weight_kg)
    if fmt == "table":
        emit(f"enrolled {participant} in {protocol_id} arm {arm} at {site_code}, day 1 {day1}")
    emit(render_visits(records, fmt))


def _enroll_csv(ctx: click.Context, csv_file: str, skip_existing: bool, fmt: Format) -> None:
    import json

    from planner.cli.tables import plural

    with progress_bar("planning visits") as progress:
        done = open_planner(ctx).enroll_file(
            csv_file, skip_existing=skip_existing, progress=progress
        )
    if fmt != "table":  # one summary object (JSON) or row (CSV), not the prose
        summary = {"file": csv_file, "enrolled": done.enrolled, "skipped": done.skipped}
        if fmt == "json":
            emit(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            from planner.cli.tables import render_csv

            emit(render_csv(list(summary), [summary]))
        return
    text = f"enrolled {plural(done.enrolled, 'participant')} from {csv_file}"
    if skip_existing:
        text += f" ({done.skipped} already enrolled, skipped)"
    emit(text)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` callback drawing a bar on stderr, or None
    when stderr is not a terminal (scripts and pipes stay clean)."""
    if not sys.stderr.isatty():
        yield None
        return
    with ExitStack() as stack:
        bars: list[Any] = []
        shown = 0

        def progress(done: int, total: int) -> None:
            nonlocal shown
            if not bars:
                bar = click.progressbar(length=total, label=label, file=sys.stderr)
                bars.append(stack.enter_context(bar))
            bars[0].update(done - shown)
            shown = done

        yield progress
