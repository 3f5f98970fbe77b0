"""planner: clinical-trial visit planner.

The pure core (:mod:`planner.protocol`, :mod:`planner.schedule`,
:mod:`planner.calendar`, :mod:`planner.ics`) and the database API
(:class:`planner.api.Planner`) are imported on first use, so that importing
the package, or starting the command line, stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.api import ExportScope, Planner
    from planner.errors import InputError, NotFound, PlannerError, ProtocolError, StaleData
    from planner.protocol import StudyProtocol, load, parse
    from planner.schedule import Occurrence, VisitKey, expand
    from planner.visits import VisitRecord

_WHERE = {
    "ExportScope": "planner.api",
    "Planner": "planner.api",
    "InputError": "planner.errors",
    "NotFound": "planner.errors",
    "PlannerError": "planner.errors",
    "ProtocolError": "planner.errors",
    "StaleData": "planner.errors",
    "StudyProtocol": "planner.protocol",
    "load": "planner.protocol",
    "parse": "planner.protocol",
    "Occurrence": "planner.schedule",
    "VisitKey": "planner.schedule",
    "expand": "planner.schedule",
    "VisitRecord": "planner.visits",
}

__all__ = [
    "ExportScope",
    "InputError",
    "NotFound",
    "Occurrence",
    "Planner",
    "PlannerError",
    "ProtocolError",
    "StaleData",
    "StudyProtocol",
    "VisitKey",
    "VisitRecord",
    "expand",
    "load",
    "parse",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
