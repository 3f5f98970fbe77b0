"""The create-feed form sent twice at the same moment makes one feed.

The web page's create form carries the newest feed its page listed; a create
that finds a newer one is refused (a reload of the answer, a double click).
The check runs inside the write transaction, after the audit trail's turn:
on PostgreSQL two creates that both start before either commits still make
one feed (READ COMMITTED: the second reads the first's feed once its turn
comes). Checked before the transaction, as it once was, both made a feed.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from planner.app import FeedScope, Planner
from planner.app.site_feeds import SiteFeeds
from planner.app.site_view import SiteView
from planner.app.users import UserInfo
from planner.core.errors import StaleData
from tests.test_pg_locks import stalled_commits

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
COORDINATOR = UserInfo("ana", "coordinator", ("WUH",), False, False, NOW, None)


@pytest.mark.slow
def test_the_same_create_form_sent_twice_at_once_makes_one_feed(postgres_url: str) -> None:
    with Planner(postgres_url, actor="tester", clock=lambda: NOW) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        outcomes: list[object] = []

        def send() -> None:
            feeds = SiteFeeds(SiteView(planner, COORDINATOR))
            try:
                outcomes.append(feeds.create(FeedScope("site", "WUH"), "nurses", newest=0))
            except StaleData as error:
                outcomes.append(error)

        with stalled_commits(postgres_url) as waiting:
            sends = [threading.Thread(target=send) for _ in range(2)]
            for thread in sends:
                thread.start()
            waiting(2)  # both are in their transactions, waiting for the audit trail
        for thread in sends:
            thread.join(timeout=60)

        refused = [o for o in outcomes if isinstance(o, StaleData)]
        assert len(outcomes) == 2 and len(refused) == 1, outcomes
        assert "perhaps by this same form, sent twice" in str(refused[0])
        assert [feed.scope.to_string() for feed in planner.feeds.list()] == ["site:WUH"]


def test_a_create_form_from_before_another_feed_is_refused(tmp_path: object) -> None:
    with Planner(f"{tmp_path}/p.db", actor="tester", clock=lambda: NOW) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        feeds = SiteFeeds(SiteView(planner, COORDINATOR))
        first = feeds.create(FeedScope("site", "WUH"), "nurses", newest=0)
        with pytest.raises(StaleData, match="nothing was created"):
            feeds.create(FeedScope("site", "WUH"), "nurses", newest=0)
        again = feeds.create(FeedScope("site", "WUH"), "night nurses", newest=first.id)
        assert [feed.id for feed in planner.feeds.list()] == [first.id, again.id]
