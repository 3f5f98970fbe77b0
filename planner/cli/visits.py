"""``planner visit`` and ``planner participant``: what happened, and moves."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from planner.cli.params import DATE, ON, REVISION
from planner.cli.root import emit, main, open_planner

if TYPE_CHECKING:
    from planner.app import SurvivalChoice
    from planner.app.results import Outcome


@main.group()
def visit() -> None:
    """Record what happened to a visit, or move it."""


REASON = click.option("--reason", help="Why (kept with the visit and in the audit trail).")


@visit.command("complete")
@click.argument("visit_id", metavar="VISIT_ID")
@ON
@REASON
@REVISION
@click.pass_context
def visit_complete(
    ctx: click.Context, visit_id: str, on: date, reason: str | None, revision: int | None
) -> None:
    """Record that a visit happened (outside its window: flagged as a deviation)."""
    outcome = open_planner(ctx).complete(visit_id, on, reason=reason, expected_revision=revision)
    _report_change(visit_id, outcome, "completed")


@visit.command("move")
@click.argument("visit_id", metavar="VISIT_ID")
@click.option("--to", "to", type=DATE, required=True)
@REASON
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
    outcome = open_planner(ctx).move(
        visit_id, to, reason=reason, force=force, expected_revision=revision
    )
    _report_change(visit_id, outcome, "moved")


@visit.command("miss")
@click.argument("visit_id", metavar="VISIT_ID")
@REASON
@REVISION
@click.pass_context
def visit_miss(ctx: click.Context, visit_id: str, reason: str | None, revision: int | None) -> None:
    """Record that a scheduled visit did not happen."""
    outcome = open_planner(ctx).miss(visit_id, reason=reason, expected_revision=revision)
    _report_change(visit_id, outcome, "marked missed")


@visit.command("undo")
@click.argument("visit_id", metavar="VISIT_ID")
@click.option("--reason", required=True, help="Why the record was wrong (audit trail).")
@REVISION
@click.pass_context
def visit_undo(ctx: click.Context, visit_id: str, reason: str, revision: int | None) -> None:
    """Return a completed or missed visit to scheduled (a record made in error).

    What counted from it is re-planned from its planned date again. To
    correct a completion date: undo, then complete with the right date.
    """
    outcome = open_planner(ctx).undo(visit_id, reason=reason, expected_revision=revision)
    _report_change(visit_id, outcome, "is scheduled again")


@visit.command("add")
@click.argument("code", metavar="PARTICIPANT")
@ON
@click.option("--label", required=True, help="What the visit is for (shown in lists).")
@click.option("--kind", default="visit", show_default=True, metavar="KIND")
@click.option("--time", "at", metavar="HH:MM", help="Local time at the site [default: all day].")
@REASON
@click.pass_context
def visit_add(
    ctx: click.Context,
    code: str,
    on: date,
    label: str,
    kind: str,
    at: str | None,
    reason: str | None,
) -> None:
    """Add an unscheduled visit (PARTICIPANT/UNS/N), never re-planned."""
    outcome = open_planner(ctx).add_visit(code, on, label, kind=kind, time=at, reason=reason)
    _report_change(outcome.changes[0].visit, outcome, f"added on {on}")


def _report_change(visit_id: str, outcome: Outcome, what: str) -> None:
    """What happened and what it moved, then the participant's schedule as it is now."""
    from planner.cli.changes import report
    from planner.cli.render import render_visits

    emit(f"{visit_id} {what}")
    report(outcome)
    emit(render_visits(outcome.schedule, "table"))


@main.group()
def participant() -> None:
    """Withdrawals, deaths, and their correction."""


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" + ("" if number == 1 else "s")


@participant.command("withdraw")
@click.argument("code", metavar="PARTICIPANT")
@ON
@click.option("--reason")
@click.option("--keep-survival", "keep", is_flag=True,
              help="Keep survival follow-up and every series by phone "
              "[default: as the protocol marks it].")  # fmt: skip
@click.option("--cancel-survival", "cancel", is_flag=True,
              help="Cancel survival follow-up too.")  # fmt: skip
@click.pass_context
def participant_withdraw(
    ctx: click.Context, code: str, on: date, reason: str | None, keep: bool, cancel: bool
) -> None:
    """Withdraw a participant: later visits are cancelled."""
    if keep and cancel:
        raise click.UsageError("give --keep-survival or --cancel-survival, not both")
    choice: SurvivalChoice = "keep" if keep else "cancel" if cancel else "protocol"
    outcome = open_planner(ctx).withdraw(code, on, reason=reason, survival=choice)
    emit(f"{code} withdrawn on {on}; {_count(outcome.cancelled, 'later visit')} cancelled")


@participant.command("died")
@click.argument("code", metavar="PARTICIPANT")
@ON
@REASON
@click.pass_context
def participant_died(ctx: click.Context, code: str, on: date, reason: str | None) -> None:
    """Record a death: every later visit is cancelled."""
    outcome = open_planner(ctx).died(code, on, reason=reason)
    emit(f"{code} died on {on}; {_count(outcome.cancelled, 'later visit')} cancelled")


@participant.command("reinstate")
@click.argument("code", metavar="PARTICIPANT")
@click.option("--reason", required=True, help="Why the record was wrong (audit trail).")
@click.pass_context
def participant_reinstate(ctx: click.Context, code: str, reason: str) -> None:
    """Undo a withdrawal or death recorded in error: its cancelled visits return."""
    from planner.cli.changes import report

    outcome = open_planner(ctx).reinstate(code, reason=reason)
    restored = sum(1 for c in outcome.changes if c.action == "reinstate")
    emit(f"{code} reinstated; {_count(restored, 'cancelled visit')} scheduled again")
    report(outcome)


@participant.command("rebaseline")
@click.argument("codes", metavar="[PARTICIPANT]...", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="Every participant on another version.")
@click.option("--protocol", "protocol_id", metavar="ID", required=True)
@click.option("--to-version", type=click.IntRange(min=1), metavar="N", required=True)
@click.option("--arm", metavar="CODE", help="The arm for participants whose arm version N lacks.")
@click.option("--preview", is_flag=True, help="Print what would change; write nothing.")
@REASON
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_context
def participant_rebaseline(
    ctx: click.Context,
    codes: tuple[str, ...],
    everyone: bool,
    protocol_id: str,
    to_version: int,
    arm: str | None,
    preview: bool,
    reason: str | None,
    fmt: str,
) -> None:
    """Move participants to another version of their protocol (an amendment).

    History stays; scheduled visits are planned again under version N: kept
    visits keep their id, new ones are added, dropped ones are cancelled.
    """
    from planner.cli.render_amendments import render_rebaseline

    done = open_planner(ctx).amendments.rebaseline(
        codes, protocol_id, to_version, everyone=everyone, arm=arm, preview=preview, reason=reason
    )
    emit(render_rebaseline(done, fmt, preview))
