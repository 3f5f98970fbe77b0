"""CDISC SDTM exports: trial design (TA, TE, TV) and subject visits (SV).

Pure functions from a protocol and visit records to :class:`Dataset` values,
and writers from a dataset to bytes (Dataset-JSON v1.1, NDJSON, CSV). XPT
files are written by :mod:`planner.store.xpt`. The mapping, variable by
variable, is in ``docs/sdtm.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from planner.core.errors import InputError
from planner.core.protocol import StudyProtocol
from planner.core.sdtm.dataset import Cell, Column, Dataset, DataType, Row
from planner.core.sdtm.datasetjson import (
    FileMetadata,
    SourceSystem,
    dataset_csv,
    dataset_json,
    dataset_ndjson,
)
from planner.core.sdtm.design import trial_arms, trial_elements, trial_visits
from planner.core.sdtm.numbering import VisitNumbering
from planner.core.sdtm.studyid import check_study_id, usubjid
from planner.core.sdtm.visits import UnscheduledVisit, subject_visits
from planner.core.visits import VisitRecord

#: The domains planner exports, in the order they are written.
DOMAINS = ("TA", "TE", "TV", "SV")

__all__ = [
    "DOMAINS",
    "Cell",
    "Column",
    "DataType",
    "Dataset",
    "FileMetadata",
    "Row",
    "SourceSystem",
    "UnscheduledVisit",
    "VisitNumbering",
    "check_domains",
    "check_study_id",
    "dataset_csv",
    "dataset_json",
    "dataset_ndjson",
    "sdtm_datasets",
    "subject_visits",
    "trial_arms",
    "trial_elements",
    "trial_visits",
    "usubjid",
]


def check_domains(domains: Iterable[str]) -> tuple[str, ...]:
    """Domain codes, upper-cased, known and without repeats, in :data:`DOMAINS` order."""
    wanted = {domain.strip().upper() for domain in domains}
    unknown = sorted(wanted - set(DOMAINS))
    if unknown or not wanted:
        raise InputError(
            f"unknown SDTM domain {', '.join(unknown)!s}" if unknown else "no SDTM domain given",
            field="domains",
            value=",".join(unknown),
            choices=DOMAINS,
        )
    return tuple(domain for domain in DOMAINS if domain in wanted)


def sdtm_datasets(
    protocol: StudyProtocol,
    records: Iterable[VisitRecord],
    *,
    study_id: str,
    today: date | Mapping[str, date],
    domains: Sequence[str] = DOMAINS,
    reasons: Mapping[str, str] | None = None,
    unscheduled: Iterable[UnscheduledVisit] = (),
    numbering: VisitNumbering | None = None,
) -> dict[str, Dataset]:
    """The requested domains of one protocol, keyed by domain code.

    ``records`` are only read when SV is asked for. Raises InputError for a
    bad study id or domain before building anything.
    """
    check_study_id(study_id)
    numbering = numbering or VisitNumbering.of(protocol)
    built: dict[str, Dataset] = {}
    for domain in check_domains(domains):
        if domain == "SV":
            built[domain] = subject_visits(
                protocol,
                records,
                study_id=study_id,
                today=today,
                reasons=reasons,
                unscheduled=unscheduled,
                numbering=numbering,
            )
        else:
            design = {"TA": trial_arms, "TE": trial_elements, "TV": trial_visits}[domain]
            built[domain] = design(protocol, study_id, numbering)
    return built
