"""The root ``planner`` group, and what every command uses to run.

Errors are translated in one place (:mod:`planner.cli.errors`): one line on
stderr, exit 2 for usage and validation errors, 1 for the rest, never a
traceback. Heavy libraries are imported inside the commands that need them,
so ``planner --help`` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from planner.cli.errors import CommandFailed, raise_damage, refuse_memory, report
from planner.cli.params import text_is_utf8
from planner.core.errors import PlannerError

if TYPE_CHECKING:
    from planner.app import Planner


class PlannerCommand(click.Command):
    """A command whose library errors are described with its own options."""

    def invoke(self, ctx: click.Context) -> Any:
        text_is_utf8(ctx)
        try:
            return super().invoke(ctx)
        except PlannerError as error:
            raise CommandFailed(error, ctx) from error
        except Exception as error:
            raise_damage(error, root_option(ctx, "db"), ctx)  # if the database is damaged
            raise


class CommandGroup(click.Group):
    """A group of :class:`PlannerCommand` (and of groups like itself)."""

    command_class = PlannerCommand
    group_class: type[click.Group] | type[type] | None = type


class PlannerGroup(CommandGroup):
    """The root group: turns every expected error into one line on stderr."""

    group_class = CommandGroup

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        extra.pop("standalone_mode", None)
        try:
            result = super().main(args, prog_name or "planner", standalone_mode=False, **extra)
        except (Exception, KeyboardInterrupt) as error:
            report(error)
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
    if sys.stdout is None:  # started with stdout closed (`>&-`): say so before doing anything
        raise click.ClickException("standard output is closed; nothing was done")
    ctx.obj = {"db": db, "actor": actor}


def root_option(ctx: click.Context, name: str) -> str | None:
    """The value of a root option (``db``, ``actor``) as given, or None."""
    value: str | None = (ctx.find_root().obj or {}).get(name)
    return value


def open_planner(ctx: click.Context) -> Planner:
    """The application on the database of ``--db``, closed with the command."""
    from planner.app import Planner

    refuse_memory(root_option(ctx, "db"))
    planner = Planner(root_option(ctx, "db"), actor=root_option(ctx, "actor"))
    ctx.call_on_close(planner.close)
    return planner


def emit(text: str) -> None:
    """Print one result; a full disk or a failing terminal is one sentence (what
    the command changed is saved by then, and the sentence says so)."""
    try:
        click.echo(text)
    except BrokenPipeError:
        raise  # a reader that stopped early (`| head`): Python's own quiet exit
    except OSError as error:
        raise click.ClickException(
            f"cannot print the result: {error.strerror or error}; what the command changed, "
            "if anything, is saved (see `planner audit`)"
        ) from None
