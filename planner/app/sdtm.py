"""CDISC SDTM exports for data managers: a protocol's TA, TE, TV and SV.

One use case, :func:`export`: check everything it is given, read the
protocol's versions and its participants' visits in one read transaction,
build the datasets with the pure core (:mod:`planner.core.sdtm`), encode them
and write one file per domain into a folder, every file or none.

- VISITNUM stays put across protocol versions: every stored version, oldest
  first, numbers the series (:meth:`VisitNumbering.of`).
- TA, TE and TV describe the latest version.
- SV is built per version, each participant with the version they follow,
  and merged in USUBJID order (each participant's rows keep their order).
  "Past due" is judged with today at each participant's site; SVREASOC is the
  reason stored on the visit.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import metadata

from planner.app.context import Context
from planner.core.bundled import BUNDLED_IDS, bundled
from planner.core.errors import InputError
from planner.core.protocol import StudyProtocol
from planner.core.sdtm import (
    DOMAINS,
    Dataset,
    FileMetadata,
    SourceSystem,
    VisitNumbering,
    check_domains,
    check_study_id,
    dataset_csv,
    dataset_json,
    dataset_ndjson,
    subject_visits,
    trial_arms,
    trial_elements,
    trial_visits,
)
from planner.core.visits import VisitRecord
from planner.store import xpt
from planner.store.engine import sqlite_path
from planner.store.files import new_file_mode, protected_paths, write_files_atomically
from planner.store.repository import protocols, records
from planner.store.repository import sdtm as stored

#: File format → file name extension.
FORMATS = {"dataset-json": "json", "ndjson": "ndjson", "xpt": "xpt", "csv": "csv"}
DESIGNS = {"TA": trial_arms, "TE": trial_elements, "TV": trial_visits}


@dataclass(frozen=True, slots=True)
class SdtmRequest:
    """What to export: ``domains`` of ``protocol`` into the folder ``out_dir``.

    ``created`` is the files' ``datasetJSONCreationDateTime`` (default: now,
    UTC); the same data and time give the same bytes.
    """

    protocol: str
    study_id: str
    out_dir: str
    format: str = "dataset-json"
    domains: Sequence[str] = DOMAINS
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class SdtmFile:
    """One file written: its domain, path, number of rows and size in bytes."""

    domain: str
    path: str
    rows: int
    size: int


def export(ctx: Context, request: SdtmRequest) -> list[SdtmFile]:
    """Write the requested domains, one file each; nothing at all on any error."""
    extension = _extension(request.format)
    check_study_id(request.study_id)
    domains = check_domains(request.domains)
    datasets = build(ctx, request.protocol, request.study_id, domains)
    info = FileMetadata(
        created=request.created or ctx.now().replace(tzinfo=UTC),
        study_oid=request.study_id,
        source_system=SourceSystem("planner", _version()),
    )
    files = {
        f"{name.lower()}.{extension}": _encode(dataset, request.format, info)
        for name, dataset in datasets.items()
    }
    database = sqlite_path(ctx.db.url)
    protect, mode = protected_paths(database), new_file_mode(database)
    sizes = write_files_atomically(request.out_dir, files, protect=protect, mode=mode)
    folder = request.out_dir
    return [
        SdtmFile(name, f"{folder.rstrip('/')}/{file}", len(datasets[name].rows), sizes[file])
        for name, file in zip(datasets, files, strict=True)
    ]


def build(
    ctx: Context, protocol_id: str, study_id: str, domains: Sequence[str]
) -> dict[str, Dataset]:
    """The datasets of ``domains`` (checked codes), read in one transaction."""
    with ctx.db.read() as session:
        rows = protocols.versions(session, protocol_id)
        if not rows and protocol_id not in BUNDLED_IDS:
            raise ctx.unknown_protocol(session, protocol_id)
        versions = {row.version: ctx.parse_version(row) for row in rows} or {
            0: bundled(protocol_id)
        }
        numbering = VisitNumbering.of(*versions.values())
        latest = versions[max(versions)]
        built = {
            domain: DESIGNS[domain](latest, study_id, numbering)
            for domain in domains
            if domain != "SV"
        }
        if "SV" in domains:
            ids = tuple(row.id for row in rows)
            reasons = stored.reasons(session, ids)
            where = records.Filter(version_ids=ids, include_cancelled=False)
            found = records.streamed(session, ctx.db.protocols, where) if rows else iter(())
            built["SV"] = _subject_visits(ctx, versions, found, study_id, numbering, reasons)
    return {domain: built[domain] for domain in domains}


def _subject_visits(
    ctx: Context,
    versions: dict[int, StudyProtocol],
    found: Iterable[VisitRecord],
    study_id: str,
    numbering: VisitNumbering,
    reasons: dict[str, str],
) -> Dataset:
    """SV of every version's participants, merged in USUBJID order."""
    by_version: dict[int, list[VisitRecord]] = defaultdict(list)
    today: dict[str, date] = {}
    for record in found:
        by_version[record.protocol_version].append(record)
        if record.site not in today:
            today[record.site] = ctx.today(record.timezone)
    parts = [
        subject_visits(
            versions[version],
            by_version[version],
            study_id=study_id,
            today=today,
            reasons=reasons,
            numbering=numbering,
        )
        for version in sorted(by_version) or [max(versions)]
    ]
    subject = parts[0].column_names().index("USUBJID")
    merged = sorted((row for part in parts for row in part.rows), key=lambda row: str(row[subject]))
    return dataclasses.replace(parts[0], rows=tuple(merged))


def _extension(fmt: str) -> str:
    extension = FORMATS.get(fmt)
    if extension is None:
        raise InputError(
            f"unknown SDTM file format {fmt!r}", field="format", value=fmt, choices=list(FORMATS)
        )
    return extension


def _encode(dataset: Dataset, fmt: str, info: FileMetadata) -> Iterator[bytes]:
    if fmt == "dataset-json":
        return dataset_json(dataset, info)
    if fmt == "ndjson":
        return dataset_ndjson(dataset, info)
    if fmt == "csv":
        return dataset_csv(dataset)
    # Encoded now, so that a missing extra or a value too long for XPT stops
    # the export before any file is written.
    return iter([xpt.xpt_bytes(dataset, info.created)])


def _version() -> str:
    try:
        return metadata.version("planner")
    except metadata.PackageNotFoundError:
        return "unknown"
