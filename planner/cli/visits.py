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


@visit.command("complete")
@click.argument("visit_id", metavar="VISIT_ID")
@ON
@REVISION
@click.pass_context
def visit_complete(ctx: click.Context, visit_id: str, on: date, revision: int | None) -> None:
    """Record that a visit happened (outside its window: flagged as a deviation)."""
    outcome = open_planner(ctx).complete(visit_id, on, expected_revision=revision)
    _report_change(visit_id, outcome, "completed")


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
    outcome = open_planner(ctx).move(
        visit_id, to, reason=reason, force=force, expected_revision=revision
    )
    _report_change(visit_id, outcome, "moved")


@visit.command("miss")
@click.argument("visit_id", metavar="VISIT_ID")
@REVISION
@click.pass_context
def visit_miss(ctx: click.Context, visit_id: str, revision: int | None) -> None:
    """Record that a scheduled visit did not happen."""
    outcome = open_planner(ctx).miss(visit_id, expected_revision=revision)
    _report_change(visit_id, outcome, "marked missed")


def _report_change(visit_id: str, outcome: Outcome, what: str) -> None:
    """What happened, then the participant's schedule as it is now."""
    from planner.cli.render import render_visits

    emit(f"{visit_id} {what}")
    emit(render_visits(outcome.schedule, "table"))


@main.group()
def participant() -> None:
    """Withdrawals and deaths."""


@participant.command("withdraw")
@click.argument("code", metavar="PARTICIPANT")
@ON
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
    outcome = open_planner(ctx).withdraw(code, on, reason=reason, survival=choice)
    emit(f"{code} withdrawn on {on}; {outcome.cancelled} later visits cancelled")


@participant.command("died")
@click.argument("code", metavar="PARTICIPANT")
@ON
@click.pass_context
def participant_died(ctx: click.Context, code: str, on: date) -> None:
    """Record a death: every later visit is cancelled."""
    outcome = open_planner(ctx).died(code, on)
    emit(f"{code} died on {on}; {outcome.cancelled} later visits cancelled")
