"""The application: every use case of planner, as methods of :class:`Planner`.

>>> from datetime import date
>>> from planner.app import Planner
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

The names below are loaded when first used: importing one module of the
package (the command line's reading path, :mod:`planner.app.quick`) must not
load SQLAlchemy and the protocol models through the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.app.context import default_actor
    from planner.app.feeds import FeedCache, FeedInfo, FeedScope, NewFeed, Published
    from planner.app.judged import utc_now
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

#: Where each name lives.
_WHERE = {
    "default_actor": "planner.app.context",
    "FeedCache": "planner.app.feeds",
    "FeedInfo": "planner.app.feeds",
    "FeedScope": "planner.app.feeds",
    "NewFeed": "planner.app.feeds",
    "Published": "planner.app.feeds",
    "utc_now": "planner.app.judged",
    "Login": "planner.app.logins",
    "SessionUser": "planner.app.logins",
    "Upgraded": "planner.app.maintenance",
    "backup_database": "planner.app.maintenance",
    "upgrade_database": "planner.app.maintenance",
    "Planner": "planner.app.planner",
    "AuditRecord": "planner.app.results",
    "CapacityProblem": "planner.app.results",
    "Clock": "planner.app.results",
    "ExportScope": "planner.app.results",
    "Outcome": "planner.app.results",
    "ProtocolInfo": "planner.app.results",
    "SiteInfo": "planner.app.results",
    "VisitChange": "planner.app.results",
    "NewToken": "planner.app.users",
    "NewUser": "planner.app.users",
    "UserInfo": "planner.app.users",
    "SurvivalChoice": "planner.core.replan",
    "LoginRefused": "planner.core.users",
    "Role": "planner.core.users",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'planner.app' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
