"""Stored protocol versions against the audit trail and against themselves.

An enrolment's audit row, and a ``protocol-add`` row, record the SHA-256 of
the protocol version's stored source (``source_sha256``,
:func:`~planner.core.chain.source_digest`); a version whose source no longer
has that digest was edited behind planner's back (a dose, a label, a window:
what visit records and exports show of it). Each such version's stored facts
(what records take from it, :mod:`planner.core.facts`) must also be those of
its source, as ``planner db check`` finds them. A version stored since the
first such row and named by none was stored behind planner's back (a copy of
version 1 with another dose, say, that a rebaseline would then vouch for).
Versions stored before these rows recorded the digest are checked by ``db
check`` only.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from planner.core.chain import source_digest
from planner.core.errors import PlannerError
from planner.core.facts import facts_json
from planner.core.protocol import parse
from planner.store.repository import audit, protocols

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def facts_problem(
    protocol_id: str, version: int, source: str, facts: str, title: str | None = None
) -> str | None:
    """Why a stored version's facts (and title, when given: ``protocol list``
    shows it) are not those of its source, or None."""
    name = f"{protocol_id} v{version}"
    try:
        parsed = parse(source, name)  # the parser's words name the fault
    except PlannerError as error:
        return f"the stored source is no longer a valid protocol: {error}"  # names it
    if facts != facts_json(parsed):
        return f"{name}: the facts stored with it are not those of its source"
    if title is not None and title != parsed.title:
        return f"{name}: the title stored with it is not its source's"
    return None


def first_problem(session: Session) -> tuple[str, str] | None:
    """The first protocol version the trail vouches for that no longer fits, and why."""
    vouched: dict[tuple[str, int], str] = {}
    recorded = audit.source_digests(session)
    for _, after in recorded:
        values = json.loads(after)
        if isinstance(values, dict) and isinstance(values.get("source_sha256"), str):
            key = (str(values.get("protocol")), int(values.get("version") or 0))
            vouched.setdefault(key, values["source_sha256"])
    stored = {(p, v): row for p, v, *row in protocols.stored_facts(session)}
    since = recorded[0][0] if recorded else None
    for protocol_id, version, created in protocols.stored_at(session):
        if since is not None and created >= since and (protocol_id, version) not in vouched:
            name = f"{protocol_id} v{version}"
            return name, (
                f"protocol {name} was stored without an audit row (every version stored "
                "since planner records sources is named by its protocol-add or enrolment row)"
            )
    for (protocol_id, version), digest in sorted(vouched.items()):
        name = f"{protocol_id} v{version}"
        if (protocol_id, version) not in stored:
            return name, f"protocol {name} is in the audit trail but no longer stored"
        source, facts, title = stored[(protocol_id, version)]
        if source_digest(source) != digest:
            return name, (
                f"protocol {name}: its stored source is not the one its audit rows recorded "
                "(changed without an audit row)"
            )
        problem = facts_problem(protocol_id, version, source, facts, title)
        if problem is not None:
            return name, f"protocol {problem}"
    return None
