"""Protocol versions, amendments and the schedule of activities, as people read them.

Imported only by the commands that use it: the matrix needs the scheduling core.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from planner.cli.render import Format, Row, render_rows, table
from planner.core.errors import NotFound
from planner.core.schedule import expand

if TYPE_CHECKING:
    from planner.app import ProtocolInfo, VisitChange
    from planner.app.amendments import Rebaselined
    from planner.app.versions import VersionInfo
    from planner.core.protocol import StudyProtocol
    from planner.core.protocol.diff import ProtocolDiff

#: The matrix is planned from a nominal day 1: it shows study days, not dates.
_NOMINAL_DAY1 = date(2001, 1, 1)
MARK = "X"


# ------------------------------------------------------------------ versions


def render_versions(
    infos: Sequence[ProtocolInfo], versions: Sequence[VersionInfo], fmt: Format
) -> str:
    """Each protocol with every stored version and the participants on it."""
    rows: list[Row] = []
    for info in infos:
        mine = [v for v in versions if v.protocol == info.id]
        rows.append(
            {
                "id": info.id,
                "version": info.version,
                "arms": ",".join(info.arms),
                "source": "bundled" if info.bundled and info.version in (None, 1) else "added",
                "title": info.title,
                "versions": [
                    {"version": v.version, "participants": v.participants, "arms": list(v.arms)}
                    for v in mine
                ],
            }
        )
    body = []
    for row in rows:
        entries = row["versions"] or [{"version": "-", "participants": 0, "arms": []}]
        for entry in entries:
            arms = ",".join(entry["arms"]) or row["arms"]
            cells = [row["id"], str(entry["version"]), str(entry["participants"]), arms]
            body.append([*cells, row["title"]])
    headers = ["ID", "VERSION", "PARTICIPANTS", "ARMS", "TITLE"]
    columns = ["id", "version", "arms", "source", "title"]
    return render_rows(rows, fmt, columns, lambda: table(headers, body))


# ---------------------------------------------------------------------- diff


def _only(arms: Sequence[str], every: Sequence[str]) -> str:
    """`` in arm G2`` for a series of only some arms; nothing for one of every arm."""
    if not every or set(arms) >= set(every):
        return ""
    return f" in arm{'s' if len(arms) > 1 else ''} {', '.join(arms)}"


def render_diff(found: ProtocolDiff, fmt: str) -> str:
    """What changed between two versions, one series a paragraph."""
    if fmt == "json":
        return json.dumps(found.to_json(), ensure_ascii=False, indent=2)
    lines = [f"{found.protocol}: version {found.old_version} → version {found.new_version}"]
    if found.arms_added:
        lines.append(f"arms added: {', '.join(found.arms_added)}")
    if found.arms_removed:
        lines.append(f"arms removed: {', '.join(found.arms_removed)}")
    if found.empty:
        lines.append("no change to arms or schedule")
    for entry in found.series:
        lines.append("")
        lines.append(
            f"{entry.series} ({entry.label}){_only(entry.arms, found.arms)}: {entry.status}"
        )
        if entry.status != "changed":
            lines.append(f"  {entry.summary}")
        for change in entry.changes:
            lines.append(f"  {change.field}: {change.before} → {change.after}")
    return "\n".join(lines)


# ---------------------------------------------------------------- rebaseline


def _when(values: dict[str, Any]) -> str:
    text = str(values.get("target", ""))
    if values.get("time"):
        text += f" {values['time']}"
    return text


def _window(values: dict[str, Any]) -> str:
    return f"window {values['window_start']} to {values['window_end']}"


def change_line(change: VisitChange) -> str:
    """``added WUH-001/FU/5 2027-05-03 (window ...)``, ``moved ... old → new``."""
    before, after = change.before, change.after
    if change.action == "amend-add":
        return f"  added      {change.visit}  {_when(after)}  ({_window(after)})"
    if change.action == "amend-cancel":
        return f"  cancelled  {change.visit}  {before.get('target')}"
    parts = []
    if "target" in after:
        parts.append(f"{before['target']} → {after['target']}")
    if "window_start" in after and "window_end" in after:
        parts.append(f"{_window(before)} → {after['window_start']} to {after['window_end']}")
    else:  # one bound moved: the change names only what it changed
        for key in ("window_start", "window_end"):
            if key in after:
                parts.append(f"{key.replace('_', ' ')} {before.get(key)} → {after[key]}")
    for name in ("time", "duration_minutes", "kind"):
        if name in after:
            old, new = (_said(values.get(name)) for values in (before, after))
            parts.append(f"{name.replace('_', ' ')} {old} → {new}")
    if after.get("deviation"):
        parts.append("now outside its window: a protocol deviation")
    return f"  moved      {change.visit}  {'; '.join(parts)}"


def _said(value: Any) -> str:
    return "none" if value is None else str(value)


def _json_values(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in values.items()
    }


def render_rebaseline(done: Sequence[Rebaselined], fmt: str, preview: bool) -> str:
    """Per participant, every visit added, cancelled and moved."""
    if fmt == "json":
        rows = [
            {
                "participant": r.participant,
                "protocol": r.protocol,
                "from_version": r.from_version,
                "to_version": r.to_version,
                "from_arm": r.from_arm,
                "to_arm": r.to_arm,
                "changes": [
                    {
                        "visit": c.visit,
                        "action": c.action.removeprefix("amend-"),
                        "before": _json_values(c.before),
                        "after": _json_values(c.after),
                    }
                    for c in r.changes
                ],
            }
            for r in done
        ]
        return json.dumps({"preview": preview, "participants": rows}, ensure_ascii=False, indent=2)
    lines = ["preview: nothing was written"] if preview else []
    for r in done:
        arm = r.to_arm if r.from_arm == r.to_arm else f"{r.from_arm} → {r.to_arm}"
        lines.append(
            f"{r.participant}: {r.protocol} version {r.from_version} → {r.to_version} (arm {arm})"
        )
        lines.extend(change_line(c) for c in r.changes)
        if not r.changes:
            lines.append("  no visit changes")
    if not done:
        lines.append("no participant to move")
    return "\n".join(lines)


# -------------------------------------------------------------------- matrix


def _label(day: int) -> str:
    """``W4`` for study day 29 (the day that starts study week 4), else ``D4``."""
    if day > 1 and (day - 1) % 7 == 0:
        return f"W{(day - 1) // 7}"
    return f"D{day}"


def matrix_rows(protocol: StudyProtocol, arm: str | None) -> tuple[list[Row], list[str]]:
    """One row per arm and series, one column per planned study day, a mark where it happens."""
    arms = protocol.arm_codes()
    if arm is not None and arm not in arms:
        raise NotFound(
            f"unknown arm {arm!r} for protocol {protocol.id} (arms: {', '.join(arms)})",
            field="arm",
            value=arm,
            choices=arms,
        )
    planned = {code: expand(protocol, code, _NOMINAL_DAY1) for code in ([arm] if arm else arms)}
    days = sorted({o.study_day for plan in planned.values() for o in plan})
    labels = [_label(day) for day in days]
    rows: list[Row] = []
    for code, plan in planned.items():
        for series in protocol.series_for(code):
            on = {o.study_day for o in plan if o.event == series.code}
            marks = {
                label: MARK if day in on else "" for day, label in zip(days, labels, strict=True)
            }
            rows.append({"arm": code, "series": series.code, "label": series.label, **marks})
    return rows, labels


def render_matrix(protocol: StudyProtocol, version: int, arm: str | None, fmt: Format) -> str:
    """The schedule of activities: per arm, series by planned study day."""
    rows, labels = matrix_rows(protocol, arm)

    def text() -> str:
        out = [f"{protocol.id} version {version}: schedule of activities"]
        out.append("Columns: study day (Dn) or the day that starts study week n (Wn)")
        for code in [arm] if arm else protocol.arm_codes():
            mine = [r for r in rows if r["arm"] == code]
            used = [label for label in labels if any(r[label] for r in mine)]
            body = [[str(r["series"]), *(str(r[label]) for label in used)] for r in mine]
            out += [
                "",
                f"Arm {code}: {protocol.arm(code).label}",
                table(["SERIES", *used], body, width=10_000),
            ]
        return "\n".join(out)

    return render_rows(rows, fmt, ["arm", "series", "label", *labels], text)
