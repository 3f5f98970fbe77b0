"""Parameter types, the options several commands share, and what no option takes.

Only click is imported here: every command module uses these at import time,
and ``planner --help`` must not load the heavy libraries.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click


class WeightParam(click.ParamType):  # type: ignore[type-arg]
    """A weight in kilograms written in ASCII digits, as dates are ("７０" is not 70)."""

    name = "KG"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            if not str(value).isascii():
                raise ValueError(value)
            return float(value)
        except ValueError:
            self.fail(f"weight {value!r} is not a number of kilograms", param, ctx)


WEIGHT = WeightParam()

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


def text_is_utf8(ctx: click.Context) -> None:
    """Refuse text typed on a terminal that is not UTF-8: Python hands its bytes
    over as lone surrogates, which no database, file or calendar can hold.
    File names (``click.Path``) are left alone: Linux allows any bytes in them."""
    from planner.core.texts import undecodable_byte

    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if isinstance(param.type, click.Path | click.File):
            continue
        for text in value if isinstance(value, tuple) else (value,):
            if isinstance(text, str) and not text.isprintable():
                found = undecodable_byte(text)  # other characters: refused where text is used
                if found is not None:
                    name = (
                        param.opts[0]
                        if isinstance(param, click.Option)
                        else param.human_readable_name
                    )
                    raise click.BadParameter(
                        f"holds {found}; is the terminal set to UTF-8?", ctx, param, name
                    )
