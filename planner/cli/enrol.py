"""``planner enroll``: one participant, or every row of a CSV file."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from planner.cli.params import ARM, DATE, FORMAT, PROTOCOL, SITE
from planner.cli.root import emit, main, open_planner

if TYPE_CHECKING:
    from planner.cli.render import Format


@main.command()
@click.argument("participant", required=False)
@PROTOCOL
@ARM
@SITE
@click.option("--day1", type=DATE)
@click.option("--weight-kg", type=float, metavar="KG")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=True), help="Enrol every row.")
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
    fmt: Format,
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
