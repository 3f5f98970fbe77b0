"""The web page's hardening, against a real ``planner serve`` over HTTP:
escaped output, the security headers on every response, the session cookie,
slowed-down logins, and passwords and tokens nowhere in clear.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from planner.app import Planner
from planner.server.frame import CONTENT_SECURITY_POLICY
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
)

__all__ = ["close_clients"]  # an autouse fixture: every client is closed after each test


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Seeded, Server]]:
    with running(tmp_path_factory.mktemp("hardening")) as found:
        yield found


def test_script_in_a_protocol_and_a_participant_code_is_shown_escaped(
    site: tuple[Seeded, Server], tmp_path: Path
) -> None:
    seeded, server = site
    bundled = Path(__file__).parent.parent / "planner" / "protocols" / "ucmsc-dlc.toml"
    source = bundled.read_text(encoding="utf-8")
    source = source.replace('id = "ucmsc-dlc"', 'id = "xss-dlc"', 1)
    source = re.sub(r'(?m)^title = ".*"$', 'title = "<script>alert(1)</script> trial"', source)
    source = source.replace('label = "Infusion"', 'label = "<script>alert(2)</script>"')
    path = tmp_path / "xss.toml"
    path.write_text(source, encoding="utf-8")
    cli(seeded.db, "protocol", "add", str(path))
    cli(seeded.db, "enroll", "WUH-003", "--protocol", "xss-dlc", "--arm", "G1",
        "--site", "WUH", "--day1", seeded.today.isoformat())  # fmt: skip
    alice = logged_in(server, "alice")
    for path_ in ("/participants/WUH-003", "/", "/upcoming", "/upcoming?protocol=xss-dlc"):
        answer = alice.get(path_)
        assert answer.status_code == 200
        assert "<script" not in answer.text, path_
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in answer.text, path_
    assert "&lt;script&gt;alert(1)&lt;/script&gt; trial" in alice.get("/participants/WUH-003").text
    code = "<img src=x onerror=alert(3)>"  # no "/": a code is one path segment
    missing = alice.get("/participants/" + quote(code, safe=""))
    assert missing.status_code == 404 and "<img" not in missing.text
    assert "unknown participant &#39;&lt;img src=x onerror=alert(3)&gt;&#39;" in missing.text
    added = alice.post(
        "/participants/WUH-003/add",
        data={
            "csrf": alice.page_csrf(),
            "on": seeded.today.isoformat(),
            "label": "<img src=x onerror=alert(4)>",
        },
    )
    assert added.status_code == 200 and "<img src=x" not in added.text
    assert "&lt;img src=x onerror=alert(4)&gt;" in added.text


def _headers_ok(answer: httpx.Response) -> None:
    where = f"{answer.request.method} {answer.request.url.path} {answer.status_code}"
    policy = answer.headers.get("content-security-policy", "")
    assert policy == CONTENT_SECURITY_POLICY, where
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff", where
    assert answer.headers["referrer-policy"] == "no-referrer", where


def test_security_headers_on_every_response(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    feed = cli(seeded.db, "feed", "create", "--site", "WUH", "--format", "json").stdout
    feed_path = re.search(r'"path": "([^"]+)"', feed).group(1)  # type: ignore[union-attr]
    anonymous, alice = Browser(server), logged_in(server, "alice")
    answers = [
        *(anonymous.get(path) for path in PAGES),
        anonymous.get("/login"),
        anonymous.post("/login", data={"username": "alice"}),
        anonymous.get("/api/v1/due"),
        anonymous.get("/api/v1/openapi.json"),
        anonymous.get("/static/style.css"),
        anonymous.get("/static/nothing.css"),
        anonymous.get("/healthz"),
        anonymous.get("/no/such/page"),
        anonymous.request("DELETE", "/"),
        anonymous.get(feed_path),
        anonymous.get("/feeds/" + "A" * 32 + ".ics"),
        *(alice.get(path) for path in PAGES),
        alice.get("/participants/NYC-001"),
        alice.get("/api/v1/due"),
        alice.get("/api/v1/due?days=x"),
        alice.post("/participants/WUH-001/complete", data={}),
        alice.get("/login"),
    ]
    statuses = {answer.status_code for answer in answers}
    assert {200, 303, 400, 401, 403, 404, 405} <= statuses
    for answer in answers:
        _headers_ok(answer)
        if answer.request.url.path.startswith(("/api/v1/d", "/participants", "/audit")):
            assert answer.headers["cache-control"] == "no-store"


def _set_cookie(answer: httpx.Response, name: str) -> str:
    found = [c for c in answer.headers.get_list("set-cookie") if c.startswith(name + "=")]
    assert len(found) == 1, answer.headers.get_list("set-cookie")
    return found[0]


def test_session_cookies(site: tuple[Seeded, Server]) -> None:
    _, server = site
    planted = "P" * 43
    browser = Browser(server, cookies={"planner_session": planted})
    assert browser.get("/").status_code == 303  # a made-up session is no session
    answer = browser.log_in("alice")
    cookie = _set_cookie(answer, "planner_session")
    session = cookie.split(";")[0].split("=", 1)[1]
    assert session != planted and len(session) >= 43
    flags = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags
    again = Browser(server).log_in("alice")
    assert _set_cookie(again, "planner_session") != cookie  # every login: a new session
    csrf = browser.page_csrf()
    out = browser.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert Browser(server, cookies={"planner_session": session}).get("/").status_code == 303

    # Behind a TLS proxy on this machine (a trusted X-Forwarded-Proto): Secure cookies.
    https = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as client:
        form = client.get("/login", headers=https)
        secret = _set_cookie(form, "planner_login")
        assert "secure" in secret.lower() and "samesite=strict" in secret.lower()
        value = secret.split(";")[0].split("=", 1)[1]
        answer = client.post(
            "/login",
            data={"csrf": csrf_of(form.text), "username": "alice", "password": PASSWORD},
            headers={**https, "Cookie": f"planner_login={value}"},
        )
        assert answer.status_code == 303
        flags = [p.strip().lower() for p in _set_cookie(answer, "planner_session").split(";")]
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags


def test_repeated_failed_logins_are_slowed_down(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    with Planner(seeded.db, actor="setup") as api:
        api.users.add("target", "viewer", ["WUH"], password=PASSWORD)
    browser = Browser(server)
    wrong = "wrong password!"
    statuses = [browser.log_in("target", wrong).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]  # the third failure in a row: refused for 1 s
    time.sleep(1.1)
    fourth = browser.log_in("target", wrong)  # then 2 s
    assert fourth.status_code == 429 and fourth.headers["retry-after"] == "2"
    refused = browser.log_in("target")  # even the right password, while it lasts
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 2
    assert f"try again in {wait} seconds" in refused.text
    time.sleep(wait + 0.1)
    assert browser.log_in("target").status_code == 303


def _files(db: str) -> bytes:
    return b"".join(Path(db + end).read_bytes() for end in ("", "-wal") if Path(db + end).exists())


def test_passwords_and_tokens_nowhere_in_clear(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    alice = logged_in(server, "alice")
    session = alice.cookies["planner_session"]
    created = alice.post("/feeds", data={"csrf": alice.page_csrf("/feeds"), "scope": "site:WUH"})
    assert created.status_code == 200
    feed_token = re.search(r"/feeds/([A-Za-z0-9_-]{32})\.ics", created.text).group(1)  # type: ignore[union-attr]
    assert httpx.get(f"http://127.0.0.1:{server.port}/feeds/{feed_token}.ics").status_code == 200
    api = Browser(server, headers={"Authorization": f"Bearer {seeded.token}"})
    assert api.get("/api/v1/participants").status_code == 200
    for path in PAGES:
        alice.get(path)
    assert feed_token not in alice.get("/feeds").text  # shown once only
    stored = _files(seeded.db)
    server_log = server.output.read_bytes()
    assert b"$argon2id$" in stored
    for secret in (PASSWORD, session, seeded.token, feed_token):
        assert secret.encode() not in stored, secret
        assert secret.encode() not in server_log, secret
    for answer in [*alice.seen, *api.seen]:
        headers = "\n".join(
            f"{k}: {v}" for k, v in answer.headers.multi_items() if k != "set-cookie"
        )
        for secret in (PASSWORD, session, seeded.token):
            assert secret not in answer.text and secret not in headers
        if answer is not created:
            assert feed_token not in answer.text


def _schedule(db: str, code: str) -> list[tuple[str, str, str]]:
    with Planner(db, actor="test") as api:
        return [(r.visit_id, r.target.isoformat(), r.status) for r in api.schedule(code)]


@pytest.mark.parametrize(
    ("action", "form"),
    [
        ("add", {"on": "0001-01-01", "label": "typo"}),
        ("add", {"on": "1899-12-31", "label": "typo"}),
        ("add", {"on": "2026-W49-7", "label": "typo"}),
        ("move", {"visit": "WUH-002/INF/2", "revision": "0", "to": "0001-01-01",
                  "force": "yes"}),
        ("complete", {"visit": "WUH-002/INF/1", "revision": "0", "on": "9999-12-31"}),
    ],
)  # fmt: skip
def test_a_form_date_the_command_line_refuses_is_400_and_writes_nothing(
    site: tuple[Seeded, Server], action: str, form: dict[str, str]
) -> None:
    """The forms take dates by the command line's rules (YYYY-MM-DD, 1900-2200):
    a year-1 date once reached the database and then broke the page with a 500."""
    seeded, server = site
    alice = logged_in(server, "alice")
    before = _schedule(seeded.db, "WUH-002")
    csrf = alice.page_csrf("/participants/WUH-002")
    answer = alice.post(f"/participants/WUH-002/{action}", data={"csrf": csrf, **form})
    assert answer.status_code == 400, answer.text
    assert "is outside 1900-2200" in answer.text or "YYYY-MM-DD" in answer.text
    assert _schedule(seeded.db, "WUH-002") == before
    assert alice.get("/participants/WUH-002").status_code == 200


def test_the_add_form_sent_twice_adds_one_visit(site: tuple[Seeded, Server]) -> None:
    """The form says which P/UNS/N it adds: sent again (a double click, a
    reload of the answer), it is refused as changed meanwhile."""
    seeded, server = site
    alice = logged_in(server, "alice")
    shown = alice.get("/participants/WUH-001")
    number = re.search(r'name="number" value="(\d+)"', shown.text)
    assert number is not None
    form = {"csrf": csrf_of(shown.text), "number": number.group(1),
            "on": seeded.today.isoformat(), "label": "AE check"}  # fmt: skip
    first = alice.post("/participants/WUH-001/add", data=form)
    assert first.status_code == 200, first.text
    added = f"WUH-001/UNS/{number.group(1)}"
    assert f"{added}: add" in first.text
    again = alice.post("/participants/WUH-001/add", data=form)
    assert again.status_code == 409
    assert f"{added} was added since this form was shown" in again.text
    labels = [v for v, _, _ in _schedule(seeded.db, "WUH-001") if "/UNS/" in v]
    assert labels.count(added) == 1 and len(labels) == int(number.group(1))
    # The page after the first answer offers the next number.
    assert f'name="number" value="{int(number.group(1)) + 1}"' in first.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/logout", "POST"),
        ("DELETE", "/login", "GET, HEAD, POST"),
        ("PUT", "/participants/WUH-001/miss", "GET, HEAD, POST"),
        ("POST", "/healthz", "GET, HEAD"),
        ("PUT", "/feeds", "GET, HEAD, POST"),
        ("POST", "/api/v1/due", "GET, HEAD"),
    ],
)
def test_405_lists_the_methods_the_path_has(
    site: tuple[Seeded, Server], method: str, path: str, allowed: str
) -> None:
    _, server = site
    answer = Browser(server).request(method, path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed


def test_the_create_feed_form_sent_twice_creates_one_feed(site: tuple[Seeded, Server]) -> None:
    """A new feed's link is shown in the answer to the form; reloading that
    answer sends the form again, which must not make a second live feed."""
    seeded, server = site
    alice = logged_in(server, "alice")
    shown = alice.get("/feeds")
    newest = re.search(r'name="newest" value="(\d+)"', shown.text)
    assert newest is not None
    form = {"csrf": csrf_of(shown.text), "newest": newest.group(1), "scope": "site:WUH",
            "label": "ward nurses"}  # fmt: skip
    with Planner(seeded.db, actor="t") as api:
        before = len(api.feeds.list())
    first = alice.post("/feeds", data=form)
    assert first.status_code == 200 and "/feeds/" in first.text, first.text
    again = alice.post("/feeds", data=form)
    assert again.status_code == 409
    assert "a feed was created since this page was shown" in again.text
    with Planner(seeded.db, actor="t") as api:
        assert len(api.feeds.list()) == before + 1
    # The answer to the first form offers the next one.
    fresh = re.search(r'name="newest" value="(\d+)"', first.text)
    assert fresh is not None and int(fresh.group(1)) > int(newest.group(1))


def test_a_change_the_records_no_longer_allow_is_409(site: tuple[Seeded, Server]) -> None:
    """Revoking a revoked feed, completing a completed visit: the form was
    right when shown; now it is not possible (409 with the reason, not 400)."""
    seeded, server = site
    created = cli(seeded.db, "feed", "create", "--site", "WUH", "--format", "json").stdout
    feed_id = int(re.search(r'"id": (\d+)', created).group(1))  # type: ignore[union-attr]
    alice = logged_in(server, "alice")
    csrf = alice.page_csrf("/feeds")
    assert alice.post(f"/feeds/{feed_id}/revoke", data={"csrf": csrf}).status_code == 200
    again = alice.post(f"/feeds/{feed_id}/revoke", data={"csrf": csrf})
    assert again.status_code == 409
    assert f"feed {feed_id} was revoked; it cannot be revoked" in again.text
    assert "Not possible now" in again.text


def test_a_form_sent_after_the_session_ended_comes_back_to_its_page(
    site: tuple[Seeded, Server],
) -> None:
    """The login page says nothing was saved and leads back to the page the
    form was on; a form's own address opened as a page leads there too."""
    _, server = site
    alice = logged_in(server, "alice")
    csrf = alice.page_csrf("/participants/WUH-001")
    other = logged_in(server, "alice")
    ended = alice.post("/logout", data={"csrf": csrf})
    assert ended.status_code == 303
    sent = alice.post("/participants/WUH-001/miss", data={"csrf": csrf, "visit": "WUH-001/INF/2",
                                                          "revision": "0"})  # fmt: skip
    assert sent.status_code == 303
    assert sent.headers["location"] == "/login?next=%2Fparticipants%2FWUH-001&unsaved=1"
    login = alice.get(sent.headers["location"])
    assert "Your session had ended, so nothing was saved" in login.text
    assert 'name="next" value="/participants/WUH-001"' in login.text
    opened = other.get("/participants/WUH-001/complete")
    assert (opened.status_code, opened.headers["location"]) == (303, "/participants/WUH-001")
    assert other.get("/feeds/1/revoke").headers["location"] == "/feeds"


def test_a_kind_typed_at_another_site_is_not_shown(site: tuple[Seeded, Server]) -> None:
    """An unscheduled visit's kind is free text: one typed at NYC is not
    offered to a WUH coordinator, nor answered as known by the API."""
    seeded, server = site
    with Planner(seeded.db, actor="nyc") as api:
        api.add_visit("NYC-001", seeded.today, "HIV test", kind="nyc-secret-kind")
    alice = logged_in(server, "alice")
    for path in ("/upcoming", "/participants/WUH-001"):
        assert "nyc-secret-kind" not in alice.get(path).text, path
    answer = alice.get("/api/v1/due", params={"kind": "nyc-secret-kind"})
    assert answer.status_code == 400
    said, kinds = answer.json()["error"].split(" (kinds: ")
    assert said == "unknown kind 'nyc-secret-kind'" and "nyc-secret-kind" not in kinds
    root = logged_in(server, "root")  # every site: the kind is there
    assert "nyc-secret-kind" in root.get("/upcoming").text


def test_a_visit_whose_window_has_not_opened_offers_no_missed_button(
    site: tuple[Seeded, Server],
) -> None:
    """One wrong row clicked recorded a miss months ahead (a survival call in two
    years); the page offers "Missed" once a visit's window has opened."""
    seeded, server = site
    page = logged_in(server, "alice").get("/participants/WUH-002").text
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r'<tr data-visit="([^"]+)"(.*?)</tr>', page, flags=re.DOTALL)
    }
    opened = {v for v, _, start in _windows(seeded.db, "WUH-002") if start <= seeded.today}
    assert "WUH-002/INF/1" in opened and "WUH-002/FU/5" not in opened
    for visit, row in rows.items():
        if "Record" not in row:
            continue
        assert ('class="act miss"' in row) == (visit in opened), visit
    assert "Missed: once its window opens," in rows["WUH-002/FU/5"]


def _windows(db: str, code: str) -> list[tuple[str, str, date]]:
    with Planner(db, actor="test") as api:
        return [(r.visit_id, r.status, r.window_start) for r in api.schedule(code)]


def test_the_audit_page_refuses_a_range_that_ends_before_it_starts(
    site: tuple[Seeded, Server],
) -> None:
    """It showed "0 entries"; the API answers 400 for the same question."""
    _, server = site
    alice = logged_in(server, "alice")
    answer = alice.get("/audit?from=2026-12-07&to=2026-12-01")
    assert answer.status_code == 400
    assert "to (2026-12-01) is before from (2026-12-07)" in answer.text
    assert alice.get("/audit?from=2026-12-01&to=2026-12-07").status_code == 200


@pytest.mark.parametrize("days", ["30", "", "7 ", "０７"])
def test_upcoming_refuses_a_number_of_days_it_does_not_offer(
    site: tuple[Seeded, Server], days: str
) -> None:
    """It showed 7 days for any other value, saying nothing."""
    _, server = site
    alice = logged_in(server, "alice")
    answer = alice.get("/upcoming", params={"days": days})
    assert answer.status_code == 400
    assert f"days must be 7 or 14, not {days!r}" in html.unescape(answer.text)
    assert "in the next 14 days" in alice.get("/upcoming", params={"days": "14"}).text
