"""Calendar feeds without a server: the commands, the tokens, what a feed holds.

The real server, over HTTP, is tested in tests/test_server.py.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from planner.app import ExportScope, FeedCache, FeedScope, Planner
from planner.app.feed_cache import RECENT_SECONDS
from planner.core.errors import Conflict, InputError, NotFound
from planner.core.feeds import CANCELLED_RETENTION_DAYS, digest, is_token, token_from_path
from tests.conftest import NOW, CliResult, dump

Cli = Callable[..., CliResult]


def setup_sites(cli: Cli) -> None:
    for args in (
        ("site", "add", "WUH", "--timezone", "Asia/Shanghai"),
        ("site", "add", "NYC", "--timezone", "America/New_York"),
        ("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
         "--day1", "2026-04-20"),
        ("enroll", "NYC-001", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "NYC",
         "--day1", "2026-04-21"),
    ):  # fmt: skip
        assert cli(*args).exit_code == 0


def create(cli: Cli, *args: str) -> dict[str, object]:
    result = cli("feed", "create", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    created: dict[str, object] = json.loads(result.stdout)
    return created


def test_create_shows_the_secret_path_once_and_stores_only_its_digest(
    cli: Cli, db_path: Path
) -> None:
    setup_sites(cli)

    created = create(cli, "--site", "WUH", "--label", "WUH nurses", "--expires", "2099-01-31")

    assert set(created) == {"id", "token", "path", "scope", "label", "expires"}
    token = str(created["token"])
    assert is_token(token) and len(token) == 32  # 192 bits, URL-safe
    assert created["path"] == f"/feeds/{token}.ics"
    assert token_from_path(str(created["path"])) == token
    assert (created["scope"], created["label"], created["expires"]) == (
        "site:WUH",
        "WUH nurses",
        "2099-01-31",
    )
    rows = sqlite3.connect(db_path).execute("SELECT token_digest FROM feeds").fetchall()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(),)]
    for path in db_path.parent.glob("planner.db*"):
        assert token.encode() not in path.read_bytes()
    listed = cli("feed", "list", "--format", "json")
    assert token not in listed.stdout and token not in cli("audit", "--format", "json").stdout
    [row] = json.loads(listed.stdout)
    assert row["state"] == "active" and row["hits"] == 0 and row["last_used"] is None


def test_table_output_and_the_list(cli: Cli) -> None:
    setup_sites(cli)

    shown = cli("feed", "create", "--participant", "WUH-001")
    listed = cli("feed", "list")

    assert shown.exit_code == 0
    assert "/feeds/" in shown.stdout and "shown only now" in shown.stdout
    assert listed.stdout.splitlines()[0].split() == [
        "ID", "SCOPE", "LABEL", "CREATED", "EXPIRES", "STATE", "LAST", "USED", "HITS",
    ]  # fmt: skip
    assert "participant:WUH-001" in listed.stdout
    assert cli("feed", "list", "--format", "csv").stdout.startswith("id,scope,label,created,")


def test_revoke_and_rotate_are_audited_without_the_token(cli: Cli) -> None:
    setup_sites(cli)
    first = create(cli, "--protocol", "cs-huc-mscs")
    second = create(cli, "--participant", "WUH-001")

    revoked = cli("feed", "revoke", str(first["id"]))
    rotated = json.loads(cli("feed", "rotate", str(second["id"]), "--format", "json").stdout)

    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert rotated["id"] == second["id"] and rotated["token"] != second["token"]
    assert rotated["scope"] == "participant:WUH-001"
    trail = json.loads(cli("audit", "--format", "json").stdout)
    actions = [row["action"] for row in trail if row["action"].startswith("feed-")]
    assert actions == ["feed-create", "feed-create", "feed-revoke", "feed-rotate"]
    text = json.dumps(trail)
    for secret in (first["token"], second["token"], rotated["token"]):
        assert str(secret) not in text
    mine = json.loads(cli("audit", "WUH-001", "--format", "json").stdout)
    assert [row["action"] for row in mine][-2:] == ["feed-create", "feed-rotate"]
    states = {
        row["id"]: row["state"]
        for row in json.loads(cli("feed", "list", "--format", "json").stdout)
    }
    assert states == {first["id"]: "revoked", second["id"]: "active"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("feed", "create", "--site", "NOPE"), "unknown site 'NOPE'"),
        (("feed", "create", "--participant", "NOPE-1"), "unknown participant 'NOPE-1'"),
        (("feed", "create", "--protocol", "nope"), "unknown protocol 'nope'"),
        (("feed", "create", "--site", "WUH", "--expires", "2020-01-01"), "--expires: "),
        (("feed", "create", "--site", "WUH", "--expires", "2026-02-30"), "--expires"),
        (("feed", "create"), "exactly one of --site, --participant, --protocol"),
        (("feed", "create", "--site", "WUH", "--protocol", "ucmsc-dlc"), "exactly one"),
        (("feed", "create", "--site", "WUH", "--label", "x" * 201), "label"),
        (("feed", "revoke", "99"), "unknown feed 99"),
        (("feed", "rotate", "99"), "unknown feed 99"),
        (("feed", "revoke", "9" * 23), f"unknown feed {'9' * 23}"),
        (("feed", "rotate", str(2**63)), f"unknown feed {2**63}"),
        (("feed", "revoke", "0"), "ID"),
        (("feed", "revoke", "1"), "was revoked"),
        (("feed", "rotate", "1"), "was revoked"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(
    cli: Cli, db_path: Path, args: tuple[str, ...], message: str
) -> None:
    setup_sites(cli)
    create(cli, "--site", "WUH")
    assert cli("feed", "revoke", "1").exit_code == 0
    before = dump(db_path)

    result = cli(*args)

    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("planner: error: ") and message in result.stderr
    assert result.stdout == ""
    assert dump(db_path) == before


# ------------------------------------------------------------ what a feed holds


def clocked(db_path: Path, when: datetime) -> Planner:
    return Planner(str(db_path), actor="tester", clock=lambda: when)


def test_a_feed_is_the_export_of_its_scope_named_after_it(planner: Planner) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
    created = planner.feeds.create(FeedScope("site", "WUH"))

    published = planner.feeds.calendar(created.token, FeedCache(recent_seconds=0))

    assert published is not None and published.feed_id == created.id
    body = published.calendar.body
    assert body == b"".join(planner.exports.ics(ExportScope(site="WUH")))
    assert b"X-WR-CALNAME:planner: site WUH\r\n" in body
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in body and b"BEGIN:VTIMEZONE" in body
    assert published.calendar.etag == f'"{hashlib.sha256(body).hexdigest()[:40]}"'
    assert published.calendar.last_modified == NOW


def test_unknown_revoked_expired_and_malformed_tokens_give_nothing(
    planner: Planner, db_path: Path
) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    cache = FeedCache(recent_seconds=0)
    kept = planner.feeds.create(FeedScope("site", "WUH"), expires=NOW.date())
    gone = planner.feeds.create(FeedScope("site", "WUH"))
    planner.feeds.revoke(gone.id)

    assert planner.feeds.calendar(kept.token, cache) is not None
    assert planner.feeds.calendar(gone.token, cache) is None
    assert planner.feeds.calendar("A" * 32, cache) is None
    for malformed in ("", "short", kept.token + "x", kept.token[:-1] + "!", "../" * 11):
        assert planner.feeds.calendar(malformed, cache) is None
    with clocked(db_path, NOW + timedelta(days=1)) as tomorrow:
        assert tomorrow.feeds.calendar(kept.token, cache) is None
        assert tomorrow.feeds.list()[0].state == "expired"


def test_cancelled_visits_stay_for_the_retention_period_then_leave(
    planner: Planner, db_path: Path
) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
    planner.enroll("WUH-002", "cs-huc-mscs", "LOW", "WUH", date(2026, 4, 21))
    created = planner.feeds.create(FeedScope("site", "WUH"))
    cache = FeedCache(recent_seconds=0)
    before = planner.feeds.calendar(created.token, cache)
    outcome = planner.died("WUH-002", date(2026, 5, 1))
    cancelled = {change.visit for change in outcome.changes}

    during = planner.feeds.calendar(created.token, cache)
    later = NOW + timedelta(days=CANCELLED_RETENTION_DAYS + 1)
    with clocked(db_path, later) as planner_later:
        after = planner_later.feeds.calendar(created.token, cache)

    assert before and during and after and cancelled
    assert during.calendar.body.count(b"STATUS:CANCELLED") == len(cancelled)
    assert during.calendar.body.count(b"BEGIN:VEVENT") == before.calendar.body.count(
        b"BEGIN:VEVENT"
    )
    assert b"STATUS:CANCELLED" not in after.calendar.body
    assert after.calendar.etag != during.calendar.etag
    assert after.calendar.last_modified == datetime.combine(later.date(), datetime.min.time())
    events = after.calendar.body.count(b"BEGIN:VEVENT")
    assert events == before.calendar.body.count(b"BEGIN:VEVENT") - len(cancelled)


def test_a_change_elsewhere_keeps_the_calendar_and_a_change_here_renders_again(
    planner: Planner,
) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    planner.add_site("NYC", "America/New_York")
    planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
    created = planner.feeds.create(FeedScope("participant", "WUH-001"))
    cache = FeedCache(recent_seconds=0)
    first = planner.feeds.calendar(created.token, cache)

    planner.enroll("NYC-001", "cs-huc-mscs", "LOW", "NYC", date(2026, 4, 21))
    same = planner.feeds.calendar(created.token, cache)
    planner.miss("WUH-001/INF/1")
    changed = planner.feeds.calendar(created.token, cache)

    assert first and same and changed
    assert same.calendar is first.calendar  # fingerprint unchanged: not rendered again
    assert changed.calendar.etag != first.calendar.etag
    assert b"SEQUENCE:1" in changed.calendar.body


def test_answers_are_reused_for_a_moment_then_read_again(planner: Planner) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    created = planner.feeds.create(FeedScope("site", "WUH"))
    cache = FeedCache(recent_seconds=3600)
    first = planner.feeds.calendar(created.token, cache)

    planner.feeds.revoke(created.id)
    reused = planner.feeds.calendar(created.token, cache)
    cache.recent_seconds = 0
    later = planner.feeds.calendar(created.token, cache)

    assert first is not None and reused is first and later is None
    assert FeedCache().recent_seconds == RECENT_SECONDS <= 0.1
    assert cache.recent("not a token") is None


def test_fetch_counts_add_up_and_last_use_only_moves_forward(planner: Planner) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    created = planner.feeds.create(FeedScope("site", "WUH"))

    planner.feeds.record_hits({created.id: (3, NOW)})
    planner.feeds.record_hits({created.id: (2, NOW - timedelta(hours=1))})

    [info] = planner.feeds.list()
    assert (info.hits, info.last_used) == (5, NOW)
    assert planner.healthy()


def test_the_library_errors_name_their_field(planner: Planner) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    with pytest.raises(NotFound) as unknown:
        planner.feeds.create(FeedScope("participant", "X-1"))
    with pytest.raises(InputError) as past:
        planner.feeds.create(FeedScope("site", "WUH"), expires=NOW.date() - timedelta(days=1))
    created = planner.feeds.create(FeedScope("site", "WUH"))
    planner.feeds.revoke(created.id)
    with pytest.raises(Conflict) as twice:
        planner.feeds.revoke(created.id)
    with pytest.raises(InputError) as scope:
        FeedScope.from_string("ward:3")

    assert (unknown.value.field, past.value.field, twice.value.field) == (
        "participant",
        "expires",
        "feed",
    )
    assert scope.value.field == "scope"
    assert digest(created.token) != created.token
