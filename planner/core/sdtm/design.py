"""Trial design datasets TA (arms), TE (elements) and TV (visits).

Built from a :class:`StudyProtocol` and a checked STUDYID only: no dates, no
participants. See ``docs/sdtm.md`` for the mapping; in short:

- TV has one row per planned visit (VISITNUM order). When every arm has the
  visit with the same study day and rules, the row has ARMCD and ARM empty;
  otherwise there is one row per arm that has it.
- TA lists each arm's elements in order (see :mod:`.elements`); TE lists each
  element once. An element code that would mean two different things in two
  arms gets a digit (``FU2``); TEDUR is left empty when arms disagree on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from planner.core.errors import InputError
from planner.core.protocol import StudyProtocol
from planner.core.schedule import VisitKey
from planner.core.sdtm.columns import TA_COLUMNS, TE_COLUMNS, TV_COLUMNS
from planner.core.sdtm.dataset import Dataset, Row
from planner.core.sdtm.elements import Element, arm_elements
from planner.core.sdtm.numbering import VisitNumbering
from planner.core.sdtm.planned import PlannedVisit, planned_visits
from planner.core.sdtm.studyid import check_study_id

_SHARED_CODES = frozenset({"SCREEN", "FU", "SURVFU"})


@dataclass(frozen=True, slots=True)
class ArmDesign:
    """One arm: its planned visits, elements and each visit's EPOCH."""

    code: str
    label: str
    visits: tuple[PlannedVisit, ...]
    elements: tuple[Element, ...]
    epochs: dict[VisitKey, str]


def _arm_etcd(code: str, index: int) -> str:
    """The arm's own element code: the arm code, or TRT<n> if it does not fit."""
    return code if len(code) <= 8 and code not in _SHARED_CODES else f"TRT{index}"


def _unify(arms: list[ArmDesign]) -> tuple[list[ArmDesign], list[Element]]:
    """One meaning per element code across arms; TEDUR only where arms agree."""
    meaning: dict[tuple[str, str, str, str, str], str] = {}
    durations: dict[str, set[str]] = {}
    renamed: list[ArmDesign] = []
    for arm in arms:
        elements = []
        for element in arm.elements:
            what = (element.etcd, element.element, element.epoch, element.start_rule)
            key = (*what, element.end_rule)
            if key not in meaning:
                taken = sum(1 for k in meaning if k[0] == element.etcd)
                meaning[key] = element.etcd + (str(taken + 1) if taken else "")
            code = meaning[key]
            durations.setdefault(code, set()).add(element.duration)
            elements.append(replace(element, etcd=code))
        renamed.append(replace(arm, elements=tuple(elements)))
    unique: dict[str, Element] = {}
    for arm in renamed:
        for element in arm.elements:
            agreed = durations[element.etcd]
            duration = element.duration if len(agreed) == 1 else ""
            unique.setdefault(element.etcd, replace(element, duration=duration))
    return renamed, list(unique.values())


#: The longest ARMCD (SDTMIG 3.4, TA and DM: "limited to 20 characters").
MAX_ARMCD = 20


def arm_designs(
    protocol: StudyProtocol, numbering: VisitNumbering | None = None
) -> tuple[list[ArmDesign], list[Element]]:
    """Every arm's design, in protocol order, and the study's elements."""
    numbering = numbering or VisitNumbering.of(protocol)
    arms = []
    for index, arm in enumerate(protocol.arms, start=1):
        if len(arm.code) > MAX_ARMCD:
            raise InputError(
                f"arm code {arm.code!r} of {protocol.id} is {len(arm.code)} characters long: "
                f"SDTM's ARMCD holds at most {MAX_ARMCD}",
                field="arm",
                value=arm.code,
            )
        visits = planned_visits(protocol, arm.code, numbering)
        elements, epochs = arm_elements(arm, _arm_etcd(arm.code, index), visits)
        arms.append(ArmDesign(arm.code, arm.label, tuple(visits), tuple(elements), epochs))
    return _unify(arms)


def trial_arms(
    protocol: StudyProtocol, study_id: str, numbering: VisitNumbering | None = None
) -> Dataset:
    """TA: one row per element of each arm, in order."""
    check_study_id(study_id)
    arms, _ = arm_designs(protocol, numbering)
    rows: list[Row] = [
        (study_id, "TA", arm.code, arm.label, order, el.etcd, el.element, "", "", el.epoch)
        for arm in arms
        for order, el in enumerate(arm.elements, start=1)
    ]
    return Dataset("TA", "Trial Arms", TA_COLUMNS, tuple(rows))


def trial_elements(
    protocol: StudyProtocol, study_id: str, numbering: VisitNumbering | None = None
) -> Dataset:
    """TE: one row per element."""
    check_study_id(study_id)
    _, elements = arm_designs(protocol, numbering)
    rows: list[Row] = [
        (study_id, "TE", el.etcd, el.element, el.start_rule, el.end_rule, el.duration)
        for el in elements
    ]
    return Dataset("TE", "Trial Elements", TE_COLUMNS, tuple(rows))


def _tv_rows(study_id: str, arms: list[ArmDesign]) -> list[Row]:
    by_number: dict[int, list[tuple[ArmDesign, PlannedVisit]]] = {}
    for arm in arms:
        for visit in arm.visits:
            by_number.setdefault(visit.visitnum, []).append((arm, visit))
    rows: list[Row] = []
    for number in sorted(by_number):
        found = by_number[number]
        payloads = {(v.visit, v.visitdy, v.start_rule, v.end_rule) for _, v in found}
        shared = len(found) == len(arms) and len(payloads) == 1
        for arm, v in found[:1] if shared else found:
            code, label = ("", "") if shared else (arm.code, arm.label)
            rows.append(
                (study_id, "TV", number, v.visit, v.visitdy, code, label, v.start_rule, v.end_rule)
            )
    return rows


def trial_visits(
    protocol: StudyProtocol, study_id: str, numbering: VisitNumbering | None = None
) -> Dataset:
    """TV: one row per planned visit, per arm where the arms differ."""
    check_study_id(study_id)
    arms, _ = arm_designs(protocol, numbering)
    return Dataset("TV", "Trial Visits", TV_COLUMNS, tuple(_tv_rows(study_id, arms)))
