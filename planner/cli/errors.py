"""Every error, as one line on stderr: ``planner: error: <message>``.

The library's errors name the wrong input as data (``field``, ``value``,
``choices``...), in the words of the domain. This module is the one place
where the command line turns them into its own words: a field becomes the
option that gives it (``per_day`` is ``--per-day``), and an unknown site when
there are none says how to add one. Exit codes: 2 for the user's input and
usage errors, 1 for the rest, 130 when interrupted.
"""

from __future__ import annotations

import re
import sys
from typing import NoReturn, cast

import click

from planner.core.errors import Conflict, DatabaseDamaged, InputError, NotFound, PlannerError

#: Library field names (the use cases' parameter names) and the options
#: that give them. A field is named by its option only in a command that has
#: that option: ``start`` is ``--from`` for ``upcoming``, but the DATE
#: argument of ``site close``.
OPTIONS: dict[str, str] = {
    "actor": "--actor",
    "alarm": "--alarm",
    "arm": "--arm",
    "as_of": "--as-of",
    "closed": "--closed",
    "csv": "--csv",
    "day1": "--day1",
    "days": "--days",
    "db": "--db",
    "end": "--to",
    "expires": "--expires",
    "expected_revision": "--revision",
    "force": "--force",
    "format": "--format",
    "holidays": "--holidays",
    "include_cancelled": "--include-cancelled",
    "kind": "--kind",
    "label": "--label",
    "months": "--months",
    "name": "--name",
    "on": "--on",
    "out_dir": "--out",
    "output": "--output",
    "participant": "--participant",
    "per_day": "--per-day",
    "protocol": "--protocol",
    "reason": "--reason",
    "revision": "--revision",
    "site": "--site",
    "start": "--from",
    "survival": "--keep-survival",
    "time": "--time",
    "timezone": "--timezone",
    "to": "--to",
    "to_version": "--to-version",
    "today": "--today",
    "version": "--version",
    "weight_kg": "--weight-kg",
    "zone": "--timezone",
}

#: Appended when a site is unknown and there is no site to choose from.
NO_SITES_HINT = "add one with `planner site add CODE --timezone ZONE`"

#: Appended to the one line that says the database is damaged.
DAMAGE_HINT = "run `planner db check`"

#: Appended to errors about these fields: the command that fixes them.
HINTS: dict[str, str] = {
    "schema": "run `planner db upgrade`",
    "force": "add --force to do it anyway",
}


def option_for(field: str | None, ctx: click.Context | None) -> str | None:
    """The option that gives ``field`` in the command of ``ctx`` (or its groups)."""
    option = OPTIONS.get(field or "")
    while ctx is not None and option is not None:
        for param in ctx.command.params:
            if isinstance(param, click.Option) and option in param.opts + param.secondary_opts:
                return option
        ctx = ctx.parent
    return None


def describe(error: PlannerError, ctx: click.Context | None = None) -> str:
    """The error's message in the command line's words, on one line.

    A wrong value whose message does not say which input it is (neither the
    option nor the field's own words) is prefixed with the option that gave
    it: ``--db: the database name is empty``. An unknown id or a conflict
    names its value, so it is left as it is.

    >>> upcoming = click.Command("upcoming", params=[click.Option(["--days"])])
    >>> describe(InputError("the count must be 1 to 3660, not 0", field="days"),
    ...          click.Context(upcoming))
    '--days: the count must be 1 to 3660, not 0'
    >>> describe(InputError("days must be 1 to 3660, not 0", field="days"), click.Context(upcoming))
    'days must be 1 to 3660, not 0'
    >>> describe(NotFound("unknown site 'WUH' (no sites yet)", field="site", choices=()))
    "unknown site 'WUH' (no sites yet: add one with `planner site add CODE --timezone ZONE`)"
    """
    text = " ".join(str(error).split())
    hint = HINTS.get(error.field or "")
    if hint and hint not in text and not isinstance(error, DatabaseDamaged):
        text = f"{text}; {hint}"  # a hint that names the option names the input too
    option = option_for(error.field, ctx)
    if option and _is_bad_value(error) and not _names_input(text, error.field or "", option):
        text = f"{option}: {text}"
    if isinstance(error, DatabaseDamaged):
        return f"{text}: {DAMAGE_HINT}"
    if _no_sites(error) and NO_SITES_HINT not in text:
        # Inside the message's closing remark, if it has one: "(no sites yet: add one ...)".
        text = (
            f"{text[:-1]}: {NO_SITES_HINT})" if text.endswith(")") else f"{text}: {NO_SITES_HINT}"
        )
    return text


def _names_input(text: str, field: str, option: str) -> bool:
    """Whether ``text`` names the option, or the field in words (``per day``,
    ``day 1``)."""
    words = re.escape(re.sub(r"(?<=[a-z])(?=\d)", " ", field.replace("_", " ")))
    return option in text or re.search(rf"\b{words}\b", text, re.IGNORECASE) is not None


def _is_bad_value(error: PlannerError) -> bool:
    """A value that is wrong in itself, not an id that names nothing or a conflict."""
    return isinstance(error, InputError) and not isinstance(error, NotFound | Conflict)


def _no_sites(error: PlannerError) -> bool:
    """An unknown site, and no site at all to choose from."""
    return isinstance(error, NotFound) and error.field == "site" and error.choices == ()


class CommandFailed(Exception):
    """A library error raised by a command, described in that command's words."""

    def __init__(self, error: PlannerError, ctx: click.Context | None) -> None:
        super().__init__(describe(error, ctx))
        self.message = str(self)
        self.exit_code = error.exit_code


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"planner: error: {message}", err=True)
    sys.exit(code)


def report(error: BaseException) -> NoReturn:
    """Print ``error`` as one line and exit; never a traceback."""
    if isinstance(error, KeyboardInterrupt | click.exceptions.Abort):
        fail("interrupted", 130)
    if _missing_command(error):
        # A group without its command (`planner visit`): name the commands on one
        # line, not the whole help flattened into one.
        ctx = cast(click.Context, cast(click.UsageError, error).ctx)
        names = cast(click.Group, ctx.command).list_commands(ctx)
        fail(f"missing command: {', '.join(names)} (see `{ctx.command_path} --help`)", 2)
    if isinstance(error, click.ClickException):
        message = " ".join(error.format_message().split())
        if isinstance(error, click.UsageError) and error.ctx is not None:
            message = f"{message} (see `{error.ctx.command_path} --help`)"
        fail(message, error.exit_code)
    if isinstance(error, CommandFailed):
        fail(error.message, error.exit_code)
    if isinstance(error, PlannerError):
        fail(describe(error), error.exit_code)
    if _is_database_failure(error):
        fail(f"database error: {_first_line(getattr(error, 'orig', error))}", 1)
    fail(f"unexpected {type(error).__name__}: {_first_line(error)}", 1)


def _missing_command(error: BaseException) -> bool:
    """``planner visit`` alone, or ``planner --db F`` alone."""
    if not isinstance(error, click.UsageError) or error.ctx is None:
        return False
    if not isinstance(error.ctx.command, click.Group):
        return False
    return isinstance(error, click.exceptions.NoArgsIsHelpError) or (
        error.format_message().strip() == "Missing command."
    )


def _first_line(error: BaseException) -> str:
    """A driver's message without what follows its first line (a PostgreSQL
    error's statement and details): never SQL nor parameters."""
    lines = str(error).strip().splitlines()
    return " ".join(lines[0].split()) if lines else type(error).__name__


def _is_database_failure(error: BaseException) -> bool:
    """An error of SQLAlchemy's that wraps a driver's (and carries the SQL
    statement and parameters, never printed), known without importing
    SQLAlchemy here: the command line never talks to it directly."""
    return hasattr(error, "orig") and hasattr(error, "statement")


def raise_damage(error: Exception, db: str | None, ctx: click.Context | None) -> None:
    """After an unexpected failure of a command, raise the damage instead if
    its database turns out damaged (checked only now, on this rare path): a
    flipped bit inside a row shows as a value the code cannot use, not as an
    SQLite error."""
    if isinstance(error, click.ClickException | click.exceptions.Exit | click.Abort):
        return
    from planner.app.maintenance import damaged

    if damaged(db):
        raise CommandFailed(DatabaseDamaged(), ctx) from error


def refuse_memory(db: str | None) -> None:
    """A command's database must outlive it: an in-memory one (``sqlite://``)
    would lose every change when the command ends."""
    from planner.app.maintenance import in_memory

    if in_memory(db):
        raise InputError(
            "an in-memory database keeps nothing once the command ends; "
            "give a database file or a server URL",
            field="db",
            value=db,
        )
