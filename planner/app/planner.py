"""The Python API: everything the command line does, as methods.

>>> from datetime import date
>>> with Planner("sqlite://") as planner:  # an in-memory database
...     _ = planner.add_site("WUH", "Asia/Shanghai")
...     visits = planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
...     [v.target.isoformat() for v in visits[:3]]
['2026-04-20', '2026-04-23', '2026-04-27']

Each method is one transaction: it validates everything first and writes
nothing when anything is wrong. "Now" comes from the clock given to
:class:`Planner` (the system clock by default); "today" is today in the
site's time zone. The methods live in :mod:`planner.service`, one module per
concern; :class:`Planner` puts them together.
"""

from __future__ import annotations

from planner.app.base import (
    AuditRecord,
    CapacityProblem,
    Clock,
    ExportScope,
    ProtocolInfo,
    SiteInfo,
    SurvivalChoice,
    default_actor,
    utc_now,
)
from planner.app.enrol import EnrolmentPart
from planner.app.lifecycle import LifecyclePart
from planner.app.protocols import ProtocolsPart
from planner.app.queries import QueriesPart
from planner.app.sites import SitesPart


class Planner(ProtocolsPart, SitesPart, EnrolmentPart, QueriesPart, LifecyclePart):
    """A planner database: protocols, sites, participants and their visits."""


__all__ = [
    "AuditRecord",
    "CapacityProblem",
    "Clock",
    "ExportScope",
    "Planner",
    "ProtocolInfo",
    "SiteInfo",
    "SurvivalChoice",
    "default_actor",
    "utc_now",
]
