"""planner: clinical-trial visit planner.

The pure core (:mod:`planner.core.protocol`, :mod:`planner.core.schedule`,
:mod:`planner.core.sitedays`, :mod:`planner.core.ics`) and the database API
(:class:`planner.app.Planner`) are imported on first use, so that importing
the package, or starting the command line, stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.app import ExportScope, Planner
    from planner.core.errors import InputError, NotFound, PlannerError, ProtocolError, StaleData
    from planner.core.protocol import StudyProtocol, load, parse
    from planner.core.schedule import Occurrence, VisitKey, expand
    from planner.core.visits import VisitRecord

_WHERE = {
    "ExportScope": "planner.app",
    "Planner": "planner.app",
    "InputError": "planner.core.errors",
    "NotFound": "planner.core.errors",
    "PlannerError": "planner.core.errors",
    "ProtocolError": "planner.core.errors",
    "StaleData": "planner.core.errors",
    "StudyProtocol": "planner.core.protocol",
    "load": "planner.core.protocol",
    "parse": "planner.core.protocol",
    "Occurrence": "planner.core.schedule",
    "VisitKey": "planner.core.schedule",
    "expand": "planner.core.schedule",
    "VisitRecord": "planner.core.visits",
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
