"""The groups of use cases a :class:`~planner.app.Planner` has as attributes
(``planner.calendars``, ``exports``, ``feeds``, ``amendments``, ``users``) and
its maintenance, each module loaded when first used: a command that records a
visit needs none of them (nor Argon2, which the users' module loads)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.app.amendment_api import Amendments
    from planner.app.calendar_api import Calendars
    from planner.app.context import Context
    from planner.app.export_api import Exports
    from planner.app.feed_api import Feeds
    from planner.app.user_api import Users


class Groups:
    """Mixed into :class:`~planner.app.Planner`, which sets ``_ctx``."""

    _ctx: Context

    def backup(self, destination: str) -> int:
        """A consistent copy of this (SQLite) database, even while others write."""
        from planner.app import maintenance

        return maintenance.backup(self._ctx, destination)

    @property
    def calendars(self) -> Calendars:
        """Site calendars and capacity: ``planner.calendars.close(site, day)``..."""
        from planner.app.calendar_api import Calendars

        return Calendars(self._ctx)

    @property
    def amendments(self) -> Amendments:
        """Protocol versions and amendments: ``planner.amendments.diff(protocol)``..."""
        from planner.app.amendment_api import Amendments

        return Amendments(self._ctx)

    @property
    def exports(self) -> Exports:
        """Calendars, visit files and SDTM datasets: ``planner.exports.ics(scope)``..."""
        from planner.app.export_api import Exports

        return Exports(self._ctx)

    @property
    def feeds(self) -> Feeds:
        """Calendar subscription feeds: ``planner.feeds.create(scope)`` and so on."""
        from planner.app.feed_api import Feeds

        return Feeds(self._ctx)

    @property
    def users(self) -> Users:
        """Accounts, sessions and API tokens of the web page: ``planner.users.add(...)``."""
        from planner.app.user_api import Users

        return Users(self._ctx)

    def healthy(self) -> bool:
        from planner.app import feed_calendars

        return feed_calendars.healthy(self._ctx)
