"""``planner audit``: who changed what, and when; and whether the trail is intact.

``planner audit [PARTICIPANT]`` lists the trail; ``planner audit verify``
checks its hash chain and ``planner audit head`` prints the latest hash. A
first word that is not a subcommand is a participant code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from planner.cli.params import FORMATS
from planner.cli.root import CommandGroup, emit, main, open_planner, root_option

if TYPE_CHECKING:
    from planner.cli.render import Format

_FORMAT_HELP = "[default: table]"


class AuditGroup(CommandGroup):
    """Subcommands, or a participant code for the listing."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands:
            return "show", self.commands["show"], args
        return super().resolve_command(ctx, args)


@main.group(
    cls=AuditGroup,
    invoke_without_command=True,
    subcommand_metavar="[PARTICIPANT] | verify | head",
)
@click.option("--format", "fmt", type=FORMATS, help=_FORMAT_HELP)
@click.pass_context
def audit(ctx: click.Context, fmt: Format | None) -> None:
    """The audit trail (everything, or one participant's), and its checks."""
    if ctx.invoked_subcommand is None:
        _show(ctx, None, fmt)


@audit.command("show")
@click.argument("code", metavar="PARTICIPANT", required=False)
@click.option("--format", "fmt", type=FORMATS, help=_FORMAT_HELP)
@click.pass_context
def audit_show(ctx: click.Context, code: str | None, fmt: Format | None) -> None:
    """The audit trail of one participant (the same as planner audit PARTICIPANT)."""
    parent = ctx.parent.params.get("fmt") if ctx.parent is not None else None
    _show(ctx, code, fmt or parent)


def _show(ctx: click.Context, code: str | None, fmt: Format | None) -> None:
    from planner.cli.render import render_audit

    emit(render_audit(open_planner(ctx).audit(code), fmt or "table"))


@audit.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the hash chain of every audit row, and every visit against it (revision, values).

    Exits 0 printing the number of rows when intact; exits 1 naming the first
    row (or visit) where it breaks.
    """
    from planner.app.audit_chain import verify

    check = verify(root_option(ctx, "db"))
    if check.problem is not None:
        click.echo(f"planner: error: the audit trail is broken: {check.problem}", err=True)
        ctx.exit(1)
    emit(f"audit trail intact: {check.rows} rows, head {check.head}")


@audit.command("head")
@click.pass_context
def audit_head(ctx: click.Context) -> None:
    """The latest audit row's hash: keep it elsewhere to detect a rewritten trail."""
    from planner.app.audit_chain import head

    _, latest = head(root_option(ctx, "db"))
    emit(latest)
