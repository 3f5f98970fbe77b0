"""The application: every use case of planner, as methods of :class:`Planner`.

The command line, the feed server and the web page are thin shells over this
package; none of them talks to the database or renders on its own.
"""

from planner.app.planner import (
    AuditRecord,
    CapacityProblem,
    Clock,
    ExportScope,
    Planner,
    ProtocolInfo,
    SiteInfo,
    SurvivalChoice,
    default_actor,
    utc_now,
)

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
