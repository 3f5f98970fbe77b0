"""The SQL of the command line's reading path (:mod:`planner.store.lite`),
compiled for SQLite from the application's statements. Written by
``python -m planner.store.lite_gen``: do not edit by hand."""

from typing import Any

# fmt: off

UPCOMING: tuple[str, dict[str, Any]] = (
    'SELECT visits.event, visits.occurrence, visits.ideal, visits.target, visits.window_start, visits.window_end, visits.time, visits.duration_minutes, visits.status, visits.actual, visits.deviation, visits.revision, visits.updated_at, participants.code, participants.arm, participants.day1, participants.weight_kg, participants.protocol_version_id, sites.code AS code_1, sites.timezone, visits.kind, visits.label \nFROM visits JOIN participants ON participants.id = visits.participant_id JOIN sites ON sites.id = visits.site_id \nWHERE visits.site_id = :site AND visits.target >= :first AND visits.target < :end AND visits.status = :status_1 ORDER BY visits.target, coalesce(visits.time, :coalesce_1), participants.code, visits.event, visits.occurrence',
    {'status_1': 'scheduled', 'coalesce_1': ''},
)

DUE_ON: tuple[str, dict[str, Any]] = (
    "SELECT visits.event, visits.occurrence, visits.ideal, visits.target, visits.window_start, visits.window_end, visits.time, visits.duration_minutes, visits.status, visits.actual, visits.deviation, visits.revision, visits.updated_at, participants.code, participants.arm, participants.day1, participants.weight_kg, participants.protocol_version_id, sites.code AS code_1, sites.timezone, visits.kind, visits.label \nFROM visits JOIN participants ON participants.id = visits.participant_id JOIN sites ON sites.id = visits.site_id \nWHERE visits.site_id = :site AND visits.status = 'scheduled' AND visits.window_start <= :day AND visits.window_end >= :day ORDER BY visits.window_end, visits.target, coalesce(visits.time, :coalesce_1), participants.code, visits.event, visits.occurrence",
    {'coalesce_1': ''},
)

OVERDUE_ON: tuple[str, dict[str, Any]] = (
    'SELECT visits.event, visits.occurrence, visits.ideal, visits.target, visits.window_start, visits.window_end, visits.time, visits.duration_minutes, visits.status, visits.actual, visits.deviation, visits.revision, visits.updated_at, participants.code, participants.arm, participants.day1, participants.weight_kg, participants.protocol_version_id, sites.code AS code_1, sites.timezone, visits.kind, visits.label \nFROM visits JOIN participants ON participants.id = visits.participant_id JOIN sites ON sites.id = visits.site_id \nWHERE visits.site_id = :site AND visits.status = :status_1 AND visits.window_end < :day ORDER BY visits.window_end, visits.target, coalesce(visits.time, :coalesce_1), participants.code, visits.event, visits.occurrence',
    {'status_1': 'scheduled', 'coalesce_1': ''},
)

ZONES: tuple[str, dict[str, Any]] = (
    'SELECT sites.id, sites.timezone \nFROM sites ORDER BY sites.code',
    {},
)

ZONE: tuple[str, dict[str, Any]] = (
    'SELECT sites.id, sites.timezone \nFROM sites \nWHERE sites.code = :code ORDER BY sites.code',
    {},
)

VERSION: tuple[str, dict[str, Any]] = (
    'SELECT protocol_versions.protocol_id, protocol_versions.version, protocol_versions.facts \nFROM protocol_versions \nWHERE protocol_versions.id = :version_id',
    {},
)

VERSIONS_OF: tuple[str, dict[str, Any]] = (
    'SELECT protocol_versions.id \nFROM protocol_versions \nWHERE protocol_versions.protocol_id = :protocol_id ORDER BY protocol_versions.version DESC',
    {},
)
