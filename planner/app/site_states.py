"""Every site against its audit trail: the values only audited commands set.

A site's time zone, closed weekdays and public holidays are set once, by the
``site-add`` row; its closings (days and reason) by ``site-close`` rows, one each; its caps by
the last ``site-capacity`` row of each kind (0: none). A site, a closing or a
cap stored without its row, changed or removed behind planner's back shows
(a changed time zone moves every timed visit of the site's calendars). Rows
written before planner recorded closed weekdays and holidays with the site
vouch for the time zone only. The site's display name is not audited.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from planner.store.repository import audit, sites

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: The site values a ``site-add`` row holds, by its key.
SETTINGS = ("timezone", "closed", "holidays")


def first_problem(session: Session) -> tuple[str, str] | None:
    """The first site whose stored values the trail contradicts, and why."""
    added: dict[str, dict[str, Any]] = {}
    closings: Counter[tuple[str, str, str, str]] = Counter()
    caps: dict[tuple[str, str], int] = {}
    for action, after, reason in audit.site_rows(session):
        values = json.loads(after) if after else {}
        if not isinstance(values, dict):
            continue
        code = str(values.get("site"))
        if action == "site-add":
            added[code] = {key: values[key] for key in SETTINGS if key in values}
        elif action == "site-close":
            key = (code, str(values.get("start")), str(values.get("end")), reason or "")
            closings[key] += 1
        else:
            caps[(code, str(values.get("kind")))] = int(values.get("per_day") or 0)
    stored, stored_closings, stored_caps = sites.stored_values(session)
    return (
        _settings_problem(added, stored)
        or _closings_problem(closings, Counter(stored_closings))
        or _caps_problem({k: v for k, v in caps.items() if v}, stored_caps)
    )


def _settings_problem(
    added: dict[str, dict[str, Any]], stored: dict[str, dict[str, str | None]]
) -> tuple[str, str] | None:
    for code in sorted(set(added) | set(stored)):
        if code not in stored:
            return code, f"site {code} is in the audit trail but no longer stored"
        if code not in added:
            return code, f"site {code} has no audit row (added without one)"
        for key, said in added[code].items():
            if stored[code][key] != said:
                return code, (
                    f"site {code}: {key} is {stored[code][key]!r}, but its audit row set "
                    f"{said!r} (changed without an audit row)"
                )
    return None


def _closings_problem(
    audited: Counter[tuple[str, str, str, str]], stored: Counter[tuple[str, str, str, str]]
) -> tuple[str, str] | None:
    """A closing is its site, days and reason (the site calendar shows the reason)."""
    for code, start, end, reason in sorted(audited - stored):
        return code, (
            f"site {code}: the closing {start} to {end} ({reason or 'no reason'}) is audited "
            "but no longer stored as it was"
        )
    for code, start, end, reason in sorted(stored - audited):
        return code, (
            f"site {code}: the closing {start} to {end} ({reason or 'no reason'}) has no audit row"
        )
    return None


def _caps_problem(
    audited: dict[tuple[str, str], int], stored: dict[tuple[str, str], int]
) -> tuple[str, str] | None:
    for code, kind in sorted(set(audited) | set(stored)):
        said, held = audited.get((code, kind)), stored.get((code, kind))
        if said != held:
            return code, (
                f"site {code}: the cap on {kind} is {_cap(held)}, but its last audit row "
                f"set {_cap(said)} (changed without an audit row)"
            )
    return None


def _cap(per_day: int | None) -> str:
    """A stored cap as read: none (no row), else its number (0 included)."""
    return "none" if per_day is None else str(per_day)
