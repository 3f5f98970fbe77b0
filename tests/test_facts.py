"""The facts stored with a protocol version (planner.core.facts) say what the
protocol models say, for every arm and series of both bundled protocols and
of an amended one, at any weight."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.core.bundled import BUNDLED_IDS, bundled
from planner.core.facts import any_series, dose_text, facts_json, protocol_facts, series_facts
from planner.core.protocol import Series, StudyProtocol


def model_dose(protocol: StudyProtocol, arm: str, series: Series, weight: float | None) -> str:
    """The dose as the models give it (written out again here, as reference)."""
    if series.dose is not None:
        return series.dose
    if series.kind != "infusion":
        return ""
    arm_def = protocol.arm(arm)
    if arm_def.dose_per_kg is None or weight is None:
        return arm_def.dose
    total = f"{arm_def.dose_per_kg.amount * weight:.2e}"
    mantissa, exponent = total.split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    unit = arm_def.dose_per_kg.unit
    return f"{arm_def.dose} × {weight:g} kg = {mantissa}×10^{int(exponent)} {unit}".strip()


weights = st.one_of(st.none(), st.floats(min_value=2, max_value=250).map(lambda w: round(w, 1)))


@pytest.mark.parametrize("protocol_id", BUNDLED_IDS)
@given(weight=weights)
def test_every_arm_and_series_as_the_models_say(protocol_id: str, weight: float | None) -> None:
    protocol = bundled(protocol_id)
    facts = json.loads(facts_json(protocol))  # as stored and read back
    assert facts == protocol_facts(protocol)
    for arm in protocol.arm_codes():
        applicable = {series.code: series for series in protocol.series_for(arm)}
        for code, series in applicable.items():
            found = series_facts(facts, arm, code)
            assert found is not None
            assert (found["label"], found["kind"], found["contact"], found["setting"]) == (
                series.label, series.kind, series.contact, series.setting
            )  # fmt: skip
            assert found["count"] == series.timing.size
            assert dose_text(facts, arm, found, weight) == model_dose(protocol, arm, series, weight)
        for series in protocol.schedule:
            if series.code not in applicable:
                assert series_facts(facts, arm, series.code) is None


def test_one_code_for_several_arms_keeps_each_arms_series() -> None:
    facts = protocol_facts(bundled("ucmsc-dlc"))
    counts = {arm: series_facts(facts, arm, "INF") for arm in ("G1", "G2", "CTRL")}
    assert counts["G1"] is not None and counts["G1"]["count"] == 4
    assert counts["G2"] is not None and counts["G2"]["count"] == 2
    assert counts["CTRL"] is None
    first = any_series(facts, "INF")
    assert first is not None and first["arms"] == ["G1"]
    assert any_series(facts, "NOPE") is None
