"""What a change did, said plainly: each visit it moved, deviations, warnings.

WUH-001/INF/2 completed on 2026-04-25, outside its window (2026-04-23 to
2026-04-24): a protocol deviation
re-planned 2 visits:
  WUH-001/INF/3  2026-04-27 → 2026-04-29
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from planner.cli.root import emit

if TYPE_CHECKING:
    from planner.app.results import Outcome, VisitChange


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _moved(change: VisitChange) -> str:
    before: Any = change.before.get("target")
    after: Any = change.after.get("target", before)
    flag = "  (now outside its window: a protocol deviation)" if change.deviation else ""
    if before == after and "window_start" in change.after:  # its day stays, its window moves
        was, now = change.before, change.after
        return (
            f"  {change.visit}  window {was.get('window_start')} to {was.get('window_end')} → "
            f"{now.get('window_start')} to {now.get('window_end', was.get('window_end'))}{flag}"
        )
    return f"  {change.visit}  {before} → {after}{flag}"


def changes_text(outcome: Outcome) -> list[str]:
    """Lines for every visit re-planned, and every deviation flagged, by a change."""
    lines = []
    first = outcome.changes[0] if outcome.changes else None
    if first is not None and first.action in ("complete", "move") and first.deviation:
        lines.append(f"{first.visit} is outside its window: a protocol deviation")
    for change in outcome.changes:  # a correction made after a rebaseline (app/reconcile.py)
        if change.action == "amend-cancel":
            lines.append(f"{change.visit} cancelled: not in the participant's protocol version")
        elif change.action == "cancel":  # re-planned past a death or withdrawal
            lines.append(f"{change.visit} cancelled: it would now fall after the participant's "
                         "end of participation")  # fmt: skip
        elif change.action == "amend-add":
            lines.append(f"{change.visit} added on {change.after.get('target')}: in the "
                         "participant's protocol version")  # fmt: skip
    replanned = outcome.replanned
    if replanned:
        lines.append(f"re-planned {_plural(len(replanned), 'visit')}:")
        lines.extend(_moved(change) for change in replanned)
    return lines


def report(outcome: Outcome) -> None:
    """Print what changed on stdout, warnings on stderr."""
    for line in changes_text(outcome):
        emit(line)
    for warning in outcome.warnings:
        click.echo(f"planner: warning: {warning}", err=True)
