"""The application: every use case of planner, as methods of :class:`Planner`.

The command line, the feed server and the web page are thin shells over this
package; none of them talks to the database or renders on its own.
"""

from planner.app.context import default_actor, utc_now
from planner.app.maintenance import Upgraded, backup_database, upgrade_database
from planner.app.planner import Planner
from planner.app.results import (
    AuditRecord,
    CapacityProblem,
    Clock,
    ExportScope,
    Outcome,
    ProtocolInfo,
    SiteInfo,
    VisitChange,
)
from planner.core.replan import SurvivalChoice

__all__ = [
    "AuditRecord",
    "CapacityProblem",
    "Clock",
    "ExportScope",
    "Outcome",
    "Planner",
    "ProtocolInfo",
    "SiteInfo",
    "SurvivalChoice",
    "Upgraded",
    "VisitChange",
    "backup_database",
    "default_actor",
    "upgrade_database",
    "utc_now",
]
