"""A feed made again after a change renders only the visits that changed, and
gives the same bytes as rendering everything; answers under load.

The server over HTTP is tested in tests/test_server.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from planner.app import ExportScope, FeedCache, FeedScope, Planner
from planner.app import feed_cache as feed_cache_module
from planner.core.feeds import digest
from planner.core.ics import render_blocks, render_bytes, render_event, zone_ranges

SITE = FeedScope("site", "WUH")


def enrolled(planner: Planner) -> str:
    planner.add_site("WUH", "Asia/Shanghai")
    planner.add_site("NYC", "America/New_York")
    for number, arm in enumerate(("MED", "LOW", "HIGH", "MED"), start=1):
        planner.enroll(f"WUH-00{number}", "cs-huc-mscs", arm, "WUH", date(2026, 4, 19 + number))
    planner.enroll("NYC-001", "cs-huc-mscs", "LOW", "NYC", date(2026, 4, 21))
    return planner.feeds.create(SITE).token


def export(planner: Planner) -> bytes:
    return b"".join(planner.exports.ics(ExportScope(site="WUH")))


def changes(planner: Planner) -> list[Callable[[], object]]:
    """Changes of every kind a site's visits go through, one after another."""
    return [
        lambda: planner.move("WUH-001/INF/2", date(2026, 4, 28), reason="bed free"),
        lambda: planner.complete("WUH-001/INF/1", date(2026, 4, 20)),
        lambda: planner.miss("WUH-002/INF/1", reason="fever"),
        lambda: planner.add_visit("WUH-003", date(2026, 5, 2), "Extra ECG", time="09:30"),
        lambda: planner.died("WUH-004", date(2026, 5, 1)),
        lambda: planner.undo("WUH-001/INF/1", reason="entered on the wrong participant"),
        lambda: planner.enroll("WUH-005", "cs-huc-mscs", "LOW", "WUH", date(2026, 5, 4)),
        lambda: planner.move("NYC-001/INF/2", date(2026, 4, 29), reason="elsewhere"),
        lambda: planner.reinstate("WUH-004", reason="death recorded for the wrong participant"),
    ]


def test_after_every_kind_of_change_the_feed_equals_a_full_rendering(planner: Planner) -> None:
    token = enrolled(planner)
    cache = FeedCache(recent_seconds=0)
    assert planner.feeds.calendar(token, cache) is not None

    for change in changes(planner):
        change()
        kept = planner.feeds.calendar(token, cache)
        fresh = planner.feeds.calendar(token, FeedCache(recent_seconds=0))
        assert kept is not None and fresh is not None
        assert kept.calendar.body == fresh.calendar.body == export(planner)
        assert kept.calendar.etag == fresh.calendar.etag


def test_only_the_changed_visits_are_rendered_again(planner: Planner) -> None:
    token = enrolled(planner)
    cache = FeedCache(recent_seconds=0)
    planner.feeds.calendar(token, cache)
    entry = cache.get(SITE)
    assert entry is not None
    before = {made[0].visit_id: made for made in entry.events.values()}

    outcome = planner.move("WUH-001/INF/2", date(2026, 4, 28), reason="bed free")
    planner.feeds.calendar(token, cache)
    entry = cache.get(SITE)
    assert entry is not None
    after = {made[0].visit_id: made for made in entry.events.values()}

    changed = {"WUH-001/INF/2"} | {change.visit for change in outcome.changes}
    again = {visit for visit, made in after.items() if made is not before.get(visit)}
    assert again == changed
    assert after.keys() == before.keys()


def test_kept_events_are_let_go_beyond_the_row_limit(
    planner: Planner, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = enrolled(planner)
    other = planner.feeds.create(FeedScope("site", "NYC")).token
    cache = FeedCache(recent_seconds=0)
    planner.feeds.calendar(token, cache)
    site_rows = len(cache.get(SITE).events)  # type: ignore[union-attr]
    monkeypatch.setattr(feed_cache_module, "KEPT_ROWS", site_rows)

    published = planner.feeds.calendar(other, cache)

    wuh, nyc = cache.get(SITE), cache.get(FeedScope("site", "NYC"))
    assert published is not None and wuh is not None and nyc is not None
    assert wuh.events == {} and len(nyc.events) > 0  # the older feed's rows go first
    planner.miss("WUH-002/INF/1")
    assert planner.feeds.calendar(token, cache).calendar.body == export(planner)  # type: ignore[union-attr]


def test_render_blocks_gives_the_bytes_of_render_bytes(planner: Planner) -> None:
    enrolled(planner)
    planner.add_visit("WUH-003", date(2026, 5, 2), "Extra ECG", time="09:30")
    visits = list(planner.visits())

    blocks = [(visit, render_event(visit)) for visit in visits]
    zones = zone_ranges(visits)

    assert render_blocks(blocks, name="x", zones=zones) == render_bytes(
        visits, name="x", zones=zones
    )
    with pytest.raises(ValueError, match="missing from zones"):
        render_blocks(blocks, name="x", zones={})


def test_while_one_request_reads_again_the_others_get_the_last_answer(
    planner: Planner,
) -> None:
    token = enrolled(planner)
    cache = FeedCache(recent_seconds=0)
    first = planner.feeds.calendar(token, cache)
    assert first is not None

    assert cache.recent(token) is None  # too old, and nobody is reading it again
    cache.reading(digest(token), True)
    assert cache.recent(token) is first  # someone is: the last answer, without waiting
    cache.reading(digest(token), False)
    assert cache.recent(token) is None


def test_a_stale_answer_is_given_for_a_bounded_time_only(
    planner: Planner, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = enrolled(planner)
    cache = FeedCache(recent_seconds=0)
    planner.feeds.calendar(token, cache)
    monkeypatch.setattr(feed_cache_module, "STALE_SECONDS", 0.0)
    cache.reading(digest(token), True)

    assert cache.recent(token) is None


def test_a_revoked_feed_is_not_given_stale_once_its_revocation_was_read(
    planner: Planner,
) -> None:
    token = enrolled(planner)
    [feed] = planner.feeds.list()
    cache = FeedCache(recent_seconds=0)
    planner.feeds.calendar(token, cache)
    planner.feeds.revoke(feed.id)

    assert planner.feeds.calendar(token, cache) is None
    cache.reading(digest(token), True)
    assert cache.recent(token) is None


def test_requests_during_a_read_do_not_queue_behind_it(planner: Planner) -> None:
    """A reader holding the token's lock does not hold up the others."""
    token = enrolled(planner)
    cache = FeedCache(recent_seconds=0)
    first = planner.feeds.calendar(token, cache)
    wanted = digest(token)
    answers: list[object] = []

    with cache.single(wanted):  # as a request reading the database again does
        cache.reading(wanted, True)
        asker = threading.Thread(
            target=lambda: answers.append(planner.feeds.calendar(token, cache))
        )
        asker.start()
        asker.join(timeout=timedelta(seconds=5).total_seconds())
        cache.reading(wanted, False)

    assert not asker.is_alive() and answers == [first]
