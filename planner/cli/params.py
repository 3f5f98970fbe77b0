"""Parameter types and the options several commands share.

Only click is imported here: every command module uses these at import time,
and ``planner --help`` must not load the heavy libraries.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

#: The output formats of every command that prints rows.
FORMATS = click.Choice(["table", "json", "csv"])


class DateParam(click.ParamType):  # type: ignore[type-arg]
    """A calendar date written YYYY-MM-DD; impossible dates are a usage error."""

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

FORMAT = click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
SITE = click.option("--site", "site_code", metavar="CODE")
PROTOCOL = click.option("--protocol", "protocol_id", metavar="ID")
ARM = click.option("--arm", metavar="CODE")
KIND = click.option("--kind", metavar="KIND", help="infusion, visit, call, ...")
ON = click.option("--on", "on", type=DATE, required=True)
REVISION = click.option(
    "--revision",
    type=click.IntRange(0, 1_000_000_000),
    metavar="N",
    help="The revision you looked at; refuse if the visit changed since.",
)
