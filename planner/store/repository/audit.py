"""The audit trail: rows are only ever added (the database refuses the rest)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from planner.store.models import AuditEntry


def dump_json(values: dict[str, Any]) -> str:
    return json.dumps(values, default=str, sort_keys=True, ensure_ascii=False)


def entry(
    at: datetime,
    actor: str,
    action: str,
    *,
    participant: str | None = None,
    visit: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """One audit row, as the values to insert."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "participant": participant,
        "visit": visit,
        "before": dump_json(before) if before is not None else None,
        "after": dump_json(after) if after is not None else None,
        "reason": reason,
    }


def add(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(AuditEntry), list(rows))


def entries(session: Session, participant: str | None = None) -> Sequence[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if participant is not None:
        query = query.where(AuditEntry.participant == participant)
    return session.scalars(query).all()


def last_ending(session: Session, participant: str) -> tuple[str | None, list[str]] | None:
    """The participant's latest withdrawal or death: its ``before`` values (JSON)
    and the visits it cancelled, or None when there was none.

    An ending writes its cancellations, then its own row, in one transaction:
    the cancellations are the ``cancel`` rows just before it.
    """
    query = select(AuditEntry).where(AuditEntry.participant == participant)
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc())))
    for index, row in enumerate(rows):
        if row.action in ("withdraw", "died"):
            cancelled = []
            for earlier in rows[index + 1 :]:
                if earlier.action != "cancel" or earlier.visit is None:
                    break
                cancelled.append(earlier.visit)
            return row.before, cancelled
    return None
