"""The application: every use case of planner, as methods of :class:`Planner`.

>>> from datetime import date
>>> with Planner("sqlite://") as planner:  # an in-memory database
...     _ = planner.add_site("WUH", "Asia/Shanghai")
...     visits = planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
...     [v.target.isoformat() for v in visits[:3]]
['2026-04-20', '2026-04-23', '2026-04-27']

Each method validates everything first and writes nothing when anything is
wrong. "Now" comes from the clock given to :class:`Planner` (the system clock
by default); "today" is today in the site's time zone.

The command line, the feed server and the web page are thin shells over this
package; none of them talks to the database or renders on its own.
"""

from planner.app.context import default_actor, utc_now
from planner.app.feeds import FeedCache, FeedInfo, FeedScope, NewFeed, Published
from planner.app.logins import Login, SessionUser
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
from planner.app.users import NewToken, NewUser, UserInfo
from planner.core.replan import SurvivalChoice
from planner.core.users import LoginRefused, Role

__all__ = [
    "AuditRecord",
    "CapacityProblem",
    "Clock",
    "ExportScope",
    "FeedCache",
    "FeedInfo",
    "FeedScope",
    "Login",
    "LoginRefused",
    "NewFeed",
    "NewToken",
    "NewUser",
    "Outcome",
    "Planner",
    "ProtocolInfo",
    "Published",
    "Role",
    "SessionUser",
    "SiteInfo",
    "SurvivalChoice",
    "Upgraded",
    "UserInfo",
    "VisitChange",
    "backup_database",
    "default_actor",
    "upgrade_database",
    "utc_now",
]
