"""Calendar feeds as one web user sees them: the feeds of their sites only.

A site's feed belongs to that site, a participant's feed to the participant's
site; a protocol's feed spans sites, so only a user of all sites sees it.
Users who may record (coordinators, admins) create and revoke feeds; the
change is signed with their name. Another site's feed is unknown (the
sentence of a feed that does not exist).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from planner.core.errors import NotFound, StaleData
from planner.core.feeds import FeedScope

if TYPE_CHECKING:
    from planner.app.feeds import FeedInfo, NewFeed
    from planner.app.site_view import SiteView


def unknown_feed(feed_id: int) -> NotFound:
    return NotFound(f"unknown feed {feed_id}", field="feed", value=feed_id)


class SiteFeeds:
    """List, create and revoke the feeds of a user's sites."""

    def __init__(self, view: SiteView) -> None:
        self.view = view

    def _sees(self, scope: FeedScope, codes: set[str]) -> bool:
        if scope.kind == "site":
            return self.view.user.sees(scope.value)
        if scope.kind == "participant":
            return self.view.user.all_sites or scope.value in codes
        return self.view.user.all_sites

    def shown(self) -> list[FeedInfo]:
        codes = set() if self.view.user.all_sites else self.view.visible_codes()
        return [f for f in self.view.planner.feeds.list() if self._sees(f.scope, codes)]

    def scopes(self) -> list[FeedScope]:
        """The scopes the user may make a feed of: their sites and participants."""
        sites = [FeedScope("site", s.code) for s in self.view.sites()]
        people = [FeedScope("participant", p.participant) for p in self.view.participants()]
        return sites + people

    def create(
        self,
        scope: FeedScope,
        label: str = "",
        expires: date | None = None,
        *,
        newest: int | None = None,
    ) -> NewFeed:
        """A new feed of a scope the user sees. ``newest``: the id of the newest
        feed the user's page listed (0 for none); if the user sees a newer one
        now, most likely the same form was sent again (a double click, a reload
        of its answer), and nothing is created."""
        if scope.kind == "participant":
            self.view.participant(scope.value)  # NotFound for another site's
        elif not self._sees(scope, set()):
            raise NotFound(
                f"unknown {scope.kind} {scope.value!r}", field=scope.kind, value=scope.value
            )
        guard = None if newest is None else self._unchanged_since(newest)
        return self.view.recorder().feeds.create(scope, label, expires, guard=guard)

    def _unchanged_since(self, newest: int) -> Callable[[list[tuple[int, FeedScope]]], None]:
        codes = set() if self.view.user.all_sites else self.view.visible_codes()

        def guard(others: list[tuple[int, FeedScope]]) -> None:
            now = max((i for i, scope in others if self._sees(scope, codes)), default=0)
            if now != newest:
                raise StaleData(
                    "a feed was created since this page was shown (perhaps by this same form, "
                    "sent twice); look at the list before creating another: nothing was created",
                    field="newest",
                    value=newest,
                )

        return guard

    def revoke(self, feed_id: int) -> FeedInfo:
        if all(f.id != feed_id for f in self.shown()):
            raise unknown_feed(feed_id)
        return self.view.recorder().feeds.revoke(feed_id)
