"""Protocol amendments: moving participants to another version of their protocol.

:func:`rebaseline` moves participants to another version of their protocol in
one transaction: every participant is checked first, then each one's visits
are planned again by the pure :func:`planner.core.amend.rebaseline` and the
changes written and audited. A preview runs exactly the same code and rolls
the transaction back, so what it reports is what the real run does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from planner.app.apply import BLOCK, Batch, Plans
from planner.app.context import Context, unknown_participant
from planner.app.results import VisitChange
from planner.app.versions import find_version
from planner.core.amend import Amendment, added_visit
from planner.core.amend import rebaseline as plan_rebaseline
from planner.core.errors import Conflict, InputError, NotFound
from planner.core.protocol import StudyProtocol
from planner.core.replan import continuing_after
from planner.store.models import Participant, ProtocolVersion
from planner.store.repository import amendments, bulk, protocols, sites
from planner.store.repository.bulk import VisitState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class Rebaselined:
    """One participant moved to another version: from where, to where, and every
    visit added, cancelled or moved."""

    participant: str
    protocol: str
    from_version: int
    to_version: int
    from_arm: str
    to_arm: str
    changes: tuple[VisitChange, ...]


@dataclass(frozen=True, slots=True)
class _Move:
    participant: Participant
    old: ProtocolVersion
    arm: str


# ------------------------------------------------------------------ rebaseline


def rebaseline(
    ctx: Context,
    codes: Sequence[str],
    everyone: bool,
    protocol_id: str,
    to_version: int,
    arm: str | None,
    preview: bool,
    reason: str | None,
) -> list[Rebaselined]:
    """Move participants to version ``to_version``; with ``preview`` write nothing."""
    with ctx.db.write() as session:
        transaction = session.begin()
        try:
            target = find_version(ctx, session, protocol_id, to_version, "to_version")
            moves = _check(ctx, session, codes, everyone, target, arm)
            why = _reason(target, moves, reason)
            done = _apply_all(ctx, session, moves, target, why)
        except BaseException:
            transaction.rollback()
            raise
        if preview:
            transaction.rollback()
        else:
            transaction.commit()
        return done


def _reason(target: ProtocolVersion, moves: Sequence[_Move], reason: str | None) -> str:
    olds = sorted({move.old.version for move in moves})
    text = f"protocol {target.protocol_id} version {', '.join(map(str, olds))} → {target.version}"
    return f"{text}: {reason.strip()}" if reason and reason.strip() else text


def _participants(
    session: Session, codes: Sequence[str], everyone: bool, target: ProtocolVersion
) -> list[Participant]:
    if everyone == bool(codes):
        what = "both participants and all of them" if everyone else "no participant"
        raise InputError(
            f"{what} named: name the participants to move, or all of them",
            field="participant",
        )
    if everyone:
        others = [r.id for r in protocols.versions(session, target.protocol_id) if r != target]
        return list(amendments.on_versions(session, others))
    found = amendments.by_codes(session, list(codes))
    for code in codes:
        if code not in found:
            raise unknown_participant(code)
    return [found[code] for code in dict.fromkeys(codes)]


def _check(
    ctx: Context,
    session: Session,
    codes: Sequence[str],
    everyone: bool,
    target: ProtocolVersion,
    arm: str | None,
) -> list[_Move]:
    """Every participant checked before anything is written."""
    arms = ctx.parse_version(target).arm_codes()
    if arm is not None and arm not in arms:
        raise NotFound(
            f"unknown arm {arm!r} in {target.protocol_id} version {target.version} "
            f"(arms: {', '.join(arms)})",
            field="arm",
            value=arm,
            choices=arms,
        )
    moves = []
    found = _participants(session, codes, everyone, target)
    ctx.lock(session, participants=[p.code for p in found])  # re-reads them, locked
    for participant in found:
        old = session.get_one(ProtocolVersion, participant.protocol_version_id)
        _check_one(participant, old, target)
        moves.append(_Move(participant, old, _arm(participant, target, arms, arm)))
    return moves


def _check_one(participant: Participant, old: ProtocolVersion, target: ProtocolVersion) -> None:
    code = participant.code
    if old.protocol_id != target.protocol_id:
        raise Conflict(
            f"participant {code!r} is on protocol {old.protocol_id}, not {target.protocol_id}",
            field="participant",
            value=code,
        )
    if old.id == target.id:
        raise Conflict(
            f"participant {code!r} is already on {target.protocol_id} version {target.version}",
            field="to_version",
            value=target.version,
            subject=code,
        )


def _arm(
    participant: Participant, target: ProtocolVersion, arms: list[str], arm: str | None
) -> str:
    """The participant's arm in the new version: theirs, or the one mapped to."""
    if participant.arm in arms:
        return participant.arm
    if arm is None:
        raise InputError(
            f"participant {participant.code!r} is in arm {participant.arm!r}, which "
            f"{target.protocol_id} version {target.version} does not have "
            f"(arms: {', '.join(arms)}); say which arm they move to",
            field="arm",
            value=participant.arm,
            choices=arms,
            subject=participant.code,
        )
    return arm


def _apply_all(
    ctx: Context, session: Session, moves: Sequence[_Move], target: ProtocolVersion, why: str
) -> list[Rebaselined]:
    """Plan every participant's move, written a block of participants at a time
    (:mod:`planner.app.apply`): the rows and audit trail of one move after another."""
    protocol, batch, plans, done = ctx.parse_version(target), Batch(ctx), Plans(), []
    for first in range(0, len(moves), BLOCK):
        block = moves[first : first + BLOCK]
        rows = bulk.visits_of(session, [move.participant.id for move in block])
        for move in block:
            mine = rows[move.participant.id]
            plan = _plan(session, plans, move, target, protocol, mine)
            done.append(_apply(batch, move, target, plan, mine, why))
        batch.write(session)
    return done


def _plan(
    session: Session,
    plans: Plans,
    move: _Move,
    target: ProtocolVersion,
    protocol: StudyProtocol,
    rows: list[VisitState],
) -> list[Amendment]:
    """What :func:`planner.core.amend.rebaseline` adds, cancels and moves."""
    participant = move.participant
    ended = participant.ended_on if participant.status != "active" else None
    day1, site = participant.day1, participant.site_id

    def plan() -> list[Amendment]:
        place = sites.calendar(session, site).place
        going = continuing_after(protocol, move.arm, rows, ended, participant.status)
        return plan_rebaseline(
            protocol, move.arm, day1, rows, place=place, ended_on=ended, continuing=going
        )

    key = Plans.key(target.id, move.arm, day1, site, ended, participant.status, rows=rows)
    return plans.get(key, plan)


def _apply(
    batch: Batch,
    move: _Move,
    target: ProtocolVersion,
    plan: list[Amendment],
    rows: list[VisitState],
    why: str,
) -> Rebaselined:
    participant = move.participant
    by_key = {(row.event, row.occurrence): row for row in rows}
    changes = []
    for change in plan:
        if change.action == "add":
            changes.append(_add(batch, participant, change, why))
            continue
        values = dict(change.after)
        if change.action == "cancel":
            # The date stays; it is named so that the report and the audit say which day.
            values.update(target=change.day, reason=why)
        row = by_key[change.key]
        changes.append(
            batch.change(row, participant.code, f"amend-{change.action}", values, reason=why)
        )
    before = {"version": move.old.version, "arm": participant.arm}
    after = {"version": target.version, "arm": move.arm, "visits_changed": len(changes)}
    batch.move_participant(participant.id, target.id, move.arm)
    batch.audit("rebaseline", participant=participant.code, before=before, after=after, reason=why)
    return Rebaselined(
        participant.code,
        target.protocol_id,
        move.old.version,
        target.version,
        participant.arm,
        move.arm,
        tuple(changes),
    )


def _add(batch: Batch, participant: Participant, change: Amendment, why: str) -> VisitChange:
    columns, after = added_visit(change)
    row = {**columns, "participant_id": participant.id, "site_id": participant.site_id}
    return batch.add(row, participant.code, "amend-add", after, reason=why)
