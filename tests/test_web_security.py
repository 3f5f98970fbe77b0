"""Who may see and change what, against a real ``planner serve`` over HTTP:
nothing without login, nothing of another site, no change without the CSRF
token or the role to record, no stale form saved. (Escaping, headers,
cookies and secrets: tests/test_web_hardening.py.)
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import quote

import pytest

from tests.test_server import Server
from tests.web import (
    PAGES,
    PASSWORD,
    Browser,
    Seeded,
    cli,
    close_clients,
    csrf_of,
    logged_in,
    running,
    visit_row,
)

__all__ = ["close_clients"]  # an autouse fixture: every client is closed after each test

#: The tables a refused request must leave as they were.
DATA_TABLES = ("participants", "visits", "audit", "feeds", "users", "api_tokens")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Seeded, Server]]:
    with running(tmp_path_factory.mktemp("security")) as found:
        yield found


def data(db: str) -> str:
    """The rows of the data tables (sessions' last-use times may change; these may not)."""
    connection = sqlite3.connect(db)
    try:
        return "\n".join(
            repr(connection.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall())
            for table in DATA_TABLES
        )
    finally:
        connection.close()


def test_nothing_without_login(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    anonymous = Browser(server)
    before = data(seeded.db)
    for path in (*PAGES, "/participants/NYC-001", "/upcoming?site=WUH&days=14"):
        answer = anonymous.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/login?next=" + quote(path, safe="")
        assert answer.content == b""
    form = {"visit": "WUH-002/INF/1", "revision": "0", "on": seeded.today.isoformat()}
    for path in ("/participants/WUH-002/complete", "/feeds", "/feeds/1/revoke"):
        answer = anonymous.post(path, data={**form, "scope": "site:WUH", "csrf": "x"})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert data(seeded.db) == before
    login = anonymous.get("/login?next=/participants/WUH-001")
    assert login.status_code == 200 and "WUH-001" not in login.text.replace(
        'value="/participants/WUH-001"', ""
    )
    assert anonymous.get("/static/style.css").status_code == 200


def test_a_wuh_coordinator_gets_nothing_of_nyc(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    nyc_feed = cli(seeded.db, "feed", "create", "--site", "NYC", "--format", "json").stdout
    nyc_feed_id = int(re.search(r'"id": (\d+)', nyc_feed).group(1))  # type: ignore[union-attr]
    alice = logged_in(server, "alice")
    other = alice.get("/participants/NYC-001")
    unknown = alice.get("/participants/NOPE-001")
    assert other.status_code == unknown.status_code == 404
    assert other.text.replace("NYC-001", "X") == unknown.text.replace("NOPE-001", "X")
    for path in (*PAGES, "/upcoming?site=NYC", "/participants?site=NYC", "/upcoming?days=14"):
        answer = alice.get(path)
        assert answer.status_code == 200, path
        assert "NYC" not in answer.text and "New York" not in answer.text, path
    assert alice.get("/audit?participant=NYC-001").status_code == 404
    assert alice.get("/api/v1/due?site=NYC").json() == []

    before = data(seeded.db)
    today = seeded.today.isoformat()
    csrf = alice.page_csrf()
    refused = [
        alice.post(
            "/participants/NYC-001/complete",
            data={"csrf": csrf, "visit": "NYC-001/INF/1", "revision": "0", "on": today},
        ),
        alice.post(  # the visit of another site's participant, on a page of WUH's
            "/participants/WUH-001/complete",
            data={"csrf": csrf, "visit": "NYC-001/INF/1", "revision": "0", "on": today},
        ),
        alice.post("/participants/NYC-001/add", data={"csrf": csrf, "on": today, "label": "x"}),
        alice.post("/feeds", data={"csrf": csrf, "scope": "site:NYC"}),
        alice.post("/feeds", data={"csrf": csrf, "scope": "participant:NYC-001"}),
        alice.post(f"/feeds/{nyc_feed_id}/revoke", data={"csrf": csrf}),
    ]
    for answer in refused:
        assert answer.status_code == 404, answer.text
        assert "NYC-001/INF/1 " not in answer.text and "New York" not in answer.text
    assert data(seeded.db) == before
    assert visit_row(seeded.db, "NYC-001/INF/1")["status"] == "scheduled"


def test_no_change_without_the_csrf_token(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    alice, nora = logged_in(server, "alice"), logged_in(server, "nora")
    visit = "WUH-002/INF/1"
    revision = int(visit_row(seeded.db, visit)["revision"])  # type: ignore[call-overload]
    form = {"visit": visit, "revision": str(revision), "on": seeded.today.isoformat()}
    path = "/participants/WUH-002/complete"
    login_secret = csrf_of(Browser(server).get("/login").text)
    before = data(seeded.db)
    for csrf in (None, "", "0" * 64, nora.page_csrf(), login_secret):
        sent = form if csrf is None else {**form, "csrf": csrf}
        answer = alice.post(path, data=sent)
        assert answer.status_code == 403, csrf
        assert "nothing was saved" in answer.text
    assert alice.post("/feeds", data={"scope": "site:WUH"}).status_code == 403
    assert alice.post("/logout", data={}).status_code == 403
    assert alice.get("/").status_code == 200  # still logged in
    assert data(seeded.db) == before
    # The login form too: its own secret in a cookie and in the form must agree.
    stranger = Browser(server)
    forged = stranger.post("/login", data={"username": "alice", "password": PASSWORD})
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    stranger.get("/login")
    forged = stranger.post(
        "/login", data={"csrf": "forged", "username": "alice", "password": PASSWORD}
    )
    assert forged.status_code == 403 and "planner_session" not in stranger.cookies
    # With the token, the same form works.
    done = alice.post(path, data={**form, "csrf": alice.page_csrf()})
    assert done.status_code == 200 and "Saved" in done.text
    assert visit_row(seeded.db, visit)["status"] == "completed"


def test_a_viewer_looks_but_does_not_record(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    vic = logged_in(server, "vic")
    page = vic.get("/participants/WUH-001")
    assert page.status_code == 200 and "/complete" not in page.text
    before = data(seeded.db)
    answer = vic.post(
        "/participants/WUH-001/complete",
        data={
            "csrf": csrf_of(page.text),
            "visit": "WUH-001/INF/3",
            "revision": "0",
            "on": seeded.today.isoformat(),
        },
    )
    assert answer.status_code == 403
    assert "user &#39;vic&#39; (viewer) may look but not record" in answer.text
    assert data(seeded.db) == before


def test_a_stale_form_changes_nothing(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    alice = logged_in(server, "alice")
    visit = "WUH-001/INF/4"
    seen = visit_row(seeded.db, visit)
    page = alice.get("/participants/WUH-001")
    later = (date.fromisoformat(str(seen["target"])) + timedelta(days=1)).isoformat()
    cli(seeded.db, "visit", "move", visit, "--to", later, "--reason", "someone else")
    answer = alice.post(
        "/participants/WUH-001/miss",
        data={"csrf": csrf_of(page.text), "visit": visit, "revision": str(seen["revision"])},
    )
    assert answer.status_code == 409
    assert (
        f"{visit} was changed by someone else since you opened the page (or by this same "
        "form, sent again); nothing was saved." in answer.text
    )
    now = visit_row(seeded.db, visit)
    assert (now["status"], now["target"]) == ("scheduled", later)
    assert now["revision"] == int(seen["revision"]) + 1  # type: ignore[call-overload]
