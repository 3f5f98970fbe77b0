"""Enrolment: one participant or many, all or nothing, every visit planned.

Many participants (a CSV file of up to
:data:`~planner.core.enrolment_csv.MAX_CSV_ROWS`) are enrolled in bounded
memory and in one transaction. The file is read through once on its own
(:func:`~planner.core.enrolment_csv.check_csv`); then every row is checked
against the database, :data:`BATCH` rows at a time, writing nothing; then the
rows are read again and written a batch at a time
(:class:`~planner.app.enrol_write.EnrolmentWriter`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from planner.app.context import Context, unknown_site
from planner.app.enrol_write import Checked, EnrolmentWriter, Progress
from planner.core.dates import check_day1
from planner.core.enrolment import Enrolment, check_participant_code, parse_weight
from planner.core.enrolment_csv import check_csv, stream_csv
from planner.core.errors import Conflict, InputError
from planner.store.repository import locks, participants, sites

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Rows checked, then written, at a time.
BATCH = 2000

__all__ = ["BATCH", "Enrolled", "Progress", "enroll_file", "enroll_many"]


@dataclass(frozen=True, slots=True)
class Enrolled:
    """What an enrolment from a file did: how many enrolled, how many skipped
    because they were already enrolled exactly so."""

    enrolled: int
    skipped: int


def enroll_file(
    ctx: Context, path: str, skip_existing: bool = False, progress: Progress | None = None
) -> Enrolled:
    """Enrol every participant of a CSV file, all or nothing, in bounded memory.

    With ``skip_existing``, a row identical to a participant already enrolled
    (same protocol, arm, site, day 1 and weight) is skipped; a row that
    differs from one is still refused.
    """
    summary = check_csv(path)  # the file as a whole, before the database
    rows = _Rows(lambda: stream_csv(path), summary.participants, summary.sites)
    return _enroll(ctx, rows, path, skip_existing, progress)


def enroll_many(ctx: Context, enrolments: Sequence[Enrolment], source: str | None = None) -> int:
    """Enrol many participants in one transaction; return how many."""
    seen: dict[str, str] = {}
    for enrolment in enrolments:  # a CSV file is checked so by check_csv
        code = enrolment.participant
        if code.lower() in seen:
            first = seen[code.lower()]
            same = "" if first == code else f" (as {first!r})"
            raise InputError(
                f"participant {code!r} is given twice{same}", field="participant", value=code
            )
        seen[code.lower()] = code
    rows = _Rows(lambda: iter(enrolments), len(enrolments), {e.site for e in enrolments})
    return _enroll(ctx, rows, source, False, None).enrolled


@dataclass(frozen=True, slots=True)
class _Rows:
    """Enrolments that can be read twice (checked, then written), how many, where."""

    read: Callable[[], Iterable[Enrolment]]
    count: int
    sites: Collection[str]


def _batches(rows: Iterable[Enrolment]) -> Iterator[list[Enrolment]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, BATCH)):
        yield batch


def _enroll(
    ctx: Context,
    rows: _Rows,
    source: str | None,
    skip_existing: bool,
    progress: Progress | None,
) -> Enrolled:
    """Check every row (writing nothing), then write them a batch at a time,
    all in one transaction."""
    with ctx.db.write() as session, session.begin():
        locks.enrolments(session)  # codes are compared without case: one at a time
        ctx.lock(session, sites=rows.sites)
        checked = Checked({row.code: row for row in sites.all_sites(session)}, {})
        new = 0
        for batch in _batches(rows.read()):
            new += len(_check_all(ctx, session, batch, source, skip_existing, checked))
        if new:
            writer = EnrolmentWriter(ctx, session, new, progress)
            for batch in _batches(rows.read()):
                writer.write(_unless_enrolled(session, batch) if skip_existing else batch, checked)
    return Enrolled(new, rows.count - new)


def _unless_enrolled(session: Session, batch: list[Enrolment]) -> list[Enrolment]:
    """The rows of a batch not enrolled yet (the others were found identical)."""
    taken = participants.ids_by_code(session, [e.participant for e in batch])
    return [e for e in batch if e.participant not in taken]


def _check_all(
    ctx: Context,
    session: Session,
    enrolments: Sequence[Enrolment],
    source: str | None,
    skip_existing: bool,
    checked: Checked,
) -> list[Enrolment]:
    """Every row checked; the rows to enrol (those not skipped)."""
    codes = [e.participant for e in enrolments]
    existing = participants.enrolled_as(session, codes) if skip_existing else {}
    taken = participants.ids_by_code(session, codes).keys()
    alike = participants.codes_like(session, codes)
    new = []
    for enrolment in enrolments:
        try:
            _one_code(enrolment.participant, alike)
            if enrolment.participant in taken:
                before = existing.get(enrolment.participant)
                if _same(before, enrolment):
                    continue
                raise _already_enrolled(enrolment, before)
            _check_one(ctx, session, enrolment, checked)
            new.append(enrolment)
        except InputError as error:
            if source is None:
                raise
            raise type(error)(
                f"{source} line {enrolment.line}: {error}",
                field=error.field,
                value=error.value,
                choices=error.choices,
                subject=enrolment.participant,
            ) from None
    return new


def _one_code(code: str, alike: dict[str, str]) -> None:
    """Refuse a code that differs from an enrolled one only in letter case:
    ``wuh-001`` beside ``WUH-001`` would be one person enrolled twice."""
    stored = alike.get(code.lower())
    if stored is not None and stored != code:
        raise Conflict(
            f"participant {code!r} differs from the enrolled {stored!r} only in letter case; "
            "a participant has one code",
            field="participant",
            value=code,
        )


def _already_enrolled(enrolment: Enrolment, existing: tuple[Any, ...] | None) -> Conflict:
    """A participant code taken, with what differs when it is known."""
    text = f"participant {enrolment.participant!r} is already enrolled"
    if existing is not None:
        names = ("protocol", "arm", "site", "day 1", "weight")
        asked = (enrolment.protocol, enrolment.arm, enrolment.site, enrolment.day1)
        differ = [
            f"{name} {_text(was)}, not {_text(now)}"
            for name, was, now in zip(names, existing, (*asked, enrolment.weight_kg), strict=True)
            if was != now
        ]
        text += f" with {'; '.join(differ)}"
    return Conflict(text, field="participant", value=enrolment.participant)


def _text(value: Any) -> str:
    return "none" if value is None else f"{value:g} kg" if isinstance(value, float) else str(value)


def _same(existing: tuple[Any, ...] | None, enrolment: Enrolment) -> bool:
    """Whether a participant was enrolled exactly as ``enrolment`` asks."""
    wanted = (enrolment.protocol, enrolment.arm, enrolment.site, enrolment.day1)
    return existing is not None and existing == (*wanted, enrolment.weight_kg)


def _check_one(ctx: Context, session: Session, enrolment: Enrolment, checked: Checked) -> None:
    check_participant_code(enrolment.participant)
    check_day1(enrolment.day1)
    parse_weight(enrolment.weight_kg)
    if enrolment.protocol not in checked.versions:
        stored = ctx.version_for(session, enrolment.protocol)
        checked.versions[enrolment.protocol] = (stored, ctx.parse_version(stored))
    protocol = checked.versions[enrolment.protocol][1]
    if enrolment.arm not in protocol.arm_codes():
        raise InputError(
            f"unknown arm {enrolment.arm!r} for protocol {protocol.id} "
            f"(arms: {', '.join(protocol.arm_codes())})",
            field="arm",
            value=enrolment.arm,
            choices=protocol.arm_codes(),
        )
    if enrolment.site not in checked.sites:
        raise unknown_site(session, enrolment.site)
