"""What a visit record takes from its protocol, as plain data.

A stored protocol version keeps, beside its source text, these facts as
JSON (migration 0009): each series' label, kind, contact, setting, count,
own dose and arms, and each arm's dose. Reading visits then needs no
protocol model at all (parsing a protocol means importing and running the
validating models, most of a short command's time), and the reading path
of the command line can answer without them (:mod:`planner.app.quick`).
Changing the shape of the facts needs a migration that works them out again
for every stored version (as 0009 does); ``planner db check`` compares them.

>>> from planner.core.bundled import bundled
>>> facts = protocol_facts(bundled("ucmsc-dlc"))
>>> [series_facts(facts, arm, "INF")["count"] for arm in ("G1", "G2")]
[4, 2]
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.core.protocol import StudyProtocol

#: The facts of one protocol version (JSON objects).
Facts = dict[str, Any]


def protocol_facts(protocol: StudyProtocol) -> Facts:
    """The facts of a protocol that visit records show."""
    return {
        "series": [
            {
                "code": series.code,
                "label": series.label,
                "kind": series.kind,
                "contact": series.contact,
                "setting": series.setting,
                "count": series.timing.size,
                "dose": series.dose,
                "arms": series.arms,
            }
            for series in protocol.schedule
        ],
        "arms": {
            arm.code: {
                "dose": arm.dose,
                "per_kg": None
                if arm.dose_per_kg is None
                else [arm.dose_per_kg.amount, arm.dose_per_kg.unit],
            }
            for arm in protocol.arms
        },
    }


def facts_json(protocol: StudyProtocol) -> str:
    """:func:`protocol_facts` as stored: compact JSON, keys sorted."""
    return json.dumps(
        protocol_facts(protocol), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def series_facts(facts: Facts, arm: str, event: str) -> dict[str, Any] | None:
    """The series ``event`` as it applies to ``arm``, or None. A protocol may
    have several series of one code for different arms (infusions every 4
    days for one, weekly for another); an arm has one of each code."""
    found: dict[str, Any] | None = None
    for series in facts["series"]:
        if series["code"] == event and (series["arms"] is None or arm in series["arms"]):
            found = series
    return found


def any_series(facts: Facts, event: str) -> dict[str, Any] | None:
    """The first series of code ``event``, whatever its arms, or None."""
    for series in facts["series"]:
        if series["code"] == event:
            found: dict[str, Any] = series
            return found
    return None


def dose_text(facts: Facts, arm: str, series: dict[str, Any], weight_kg: float | None) -> str:
    """What the nurse gives: the series' dose, or the arm's dose for infusions.

    A per-kg dose with a known weight is worked out: ``1.5×10^6 cells/kg ×
    62 kg = 9.3×10^7 cells``.
    """
    if series["dose"] is not None:
        return str(series["dose"])
    if series["kind"] != "infusion":
        return ""
    arm_facts = facts["arms"][arm]
    text: str = arm_facts["dose"]
    per_kg = arm_facts["per_kg"]
    if per_kg is not None and weight_kg is not None:
        amount, unit = per_kg
        total = amount * weight_kg
        text = f"{text} × {weight_kg:g} kg = {scientific(total)} {unit}".strip()
    return text


def scientific(value: float) -> str:
    """9.3e7 as ``9.3×10^7``."""
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}×10^{int(exponent)}"
