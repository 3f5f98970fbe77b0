"""``planner serve`` as a real server process on a free 127.0.0.1 port.

Each test starts ``planner serve --port N`` in a subprocess, waits for
``/healthz``, talks to it with httpx, changes data with the command line in
other processes, and stops it with SIGTERM. Bodies are read by vobject, ical
and ical.js. tests/test_server_postgres.py runs the same scenario against
PostgreSQL with two workers.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from planner.app import ExportScope, Planner
from planner.app.feed_cache import RECENT_SECONDS
from tests import ics_checks
from tests.parsers import ical_spans, icaljs_spans, vobject_spans

PLANNER = str(Path(sys.executable).with_name("planner"))
NOT_FOUND = b"Not Found\n"
IcalJs = Callable[[Path], list[dict[str, str]]]


def planner(db: str, *args: str) -> str:
    """Run the command line in its own process; its stdout."""
    done = subprocess.run(
        [PLANNER, "--db", db, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"planner {' '.join(args)}: {done.stderr}"
    return done.stdout


def change(db: str, *args: str) -> str:
    """A change by the command line, then as long as the server may reuse an answer."""
    output = planner(db, *args)
    time.sleep(2 * RECENT_SECONDS)
    return output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A ``planner serve`` process; every response it gave is kept."""

    def __init__(self, db: str, output: Path, *options: str) -> None:
        self.port = free_port()
        self.output = output
        self.responses: list[httpx.Response] = []
        with output.open("wb") as sink:
            self.process = subprocess.Popen(
                [PLANNER, "--db", db, "serve", "--port", str(self.port), *options],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        # httpx asks for gzip by default: ask for it only where a test says so.
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            timeout=30,
            headers={"Accept-Encoding": "identity"},
        )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output.read_text()
            try:
                if self.client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not start:\n{self.output.read_text()}")

    def get(self, path: str, method: str = "GET", **headers: str) -> httpx.Response:
        response = self.client.request(method, path, headers=headers)
        self.responses.append(response)
        return response

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; the exit code."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@contextmanager
def serving(db: str, output: Path, *options: str) -> Iterator[Server]:
    server = Server(db, output, *options)
    try:
        yield server
    finally:
        server.stop()


def events(body: bytes) -> dict[str, dict[str, str]]:
    """Each VEVENT's UID, SEQUENCE and STATUS (our own reading, for comparisons)."""
    text = body.decode("utf-8").replace("\r\n ", "")
    found = {}
    for block in text.split("BEGIN:VEVENT")[1:]:
        fields = dict(re.findall(r"^(UID|SEQUENCE|STATUS):(.*)$", block, re.MULTILINE))
        found[fields["UID"].strip()] = {k: v.strip() for k, v in fields.items()}
    return found


def check_calendar(body: bytes, icaljs: IcalJs, tmp_path: Path) -> set[str]:
    """The three parsers and our checks agree on every event; their UIDs."""
    ics_checks.assert_valid(body)
    by_vobject = vobject_spans(body)
    assert by_vobject == ical_spans(body) == icaljs_spans(icaljs, body, tmp_path)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in body
    return set(by_vobject)


def scope_uids(db: str, scope: ExportScope) -> set[str]:
    with Planner(db, actor="tester") as api:
        return {visit.uid for visit in api.visits(scope)}


def a_visit_to_move(db: str, participant: str) -> tuple[str, str, str]:
    """A scheduled visit that can move one day later inside its window: id, uid, date."""
    for visit in json.loads(planner(db, "schedule", participant, "--format", "json")):
        target = date.fromisoformat(visit["target"])
        later = target + timedelta(days=1)
        if visit["status"] == "scheduled" and later <= date.fromisoformat(visit["window_end"]):
            return visit["visit_id"], visit["uid"], later.isoformat()
    raise AssertionError(f"{participant} has no visit to move")


def set_up(db: str) -> None:
    """Two sites; two participants at WUH, one at NYC, started 20 days ago."""
    day1 = (date.today() - timedelta(days=20)).isoformat()
    planner(db, "site", "add", "WUH", "--timezone", "Asia/Shanghai")
    planner(db, "site", "add", "NYC", "--timezone", "America/New_York")
    for code, protocol, arm, site, *more in (
        ("WUH-001", "cs-huc-mscs", "MED", "WUH"),
        ("WUH-002", "ucmsc-dlc", "G1", "WUH", "--weight-kg", "62"),
        ("NYC-001", "cs-huc-mscs", "LOW", "NYC"),
    ):
        planner(db, "enroll", code, "--protocol", protocol, "--arm", arm, "--site", site,
                "--day1", day1, *more)  # fmt: skip


def create_feed(db: str, *args: str) -> dict[str, str]:
    created: dict[str, str] = json.loads(planner(db, "feed", "create", *args, "--format", "json"))
    return created


def scenario(
    db: str,
    tmp_path: Path,
    icaljs: IcalJs,
    expire: Callable[[int], None],
    *options: str,
) -> tuple[list[str], Server]:
    """The issue's scenario against a running server; the tokens it used, and the server."""
    set_up(db)
    site = create_feed(db, "--site", "WUH", "--label", "WUH nurses")
    with serving(db, tmp_path / "server.log", *options) as server:
        path = site["path"]
        first = server.get(path)
        assert first.status_code == 200
        assert first.headers["content-type"] == "text/calendar; charset=utf-8"
        assert first.headers["referrer-policy"] == "no-referrer"
        assert first.headers["cache-control"] == "private, no-cache"
        assert first.headers["etag"].startswith('"') and first.headers["last-modified"]
        uids = check_calendar(first.content, icaljs, tmp_path)
        assert uids == scope_uids(db, ExportScope(site="WUH")) and len(uids) > 10
        assert b"X-WR-CALNAME:planner: site WUH\r\n" in first.content
        assert b"BEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai" in first.content
        assert b"NYC-001" not in first.content
        etag = first.headers["etag"]
        for _ in range(4):  # every worker gives the same validators
            again = server.get(path)
            assert again.headers["etag"] == etag and again.content == first.content

        unchanged = server.get(path, **{"If-None-Match": etag})
        assert (unchanged.status_code, unchanged.content) == (304, b"")
        assert unchanged.headers["etag"] == etag and "content-length" not in unchanged.headers
        since = server.get(path, **{"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304
        head = server.get(path, "HEAD")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["etag"] == etag
        assert head.headers["content-length"] == str(len(first.content))
        zipped = server.get(path, **{"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip" and zipped.content == first.content
        assert zipped.headers["etag"] == etag[:-1] + '-gzip"'
        raw = int(zipped.headers["content-length"])
        assert raw < len(first.content) / 3
        assert server.get(path, **{"If-None-Match": zipped.headers["etag"]}).status_code == 304

        # A move in another process: a new ETag, the same UIDs, a higher SEQUENCE.
        visit, uid, later = a_visit_to_move(db, "WUH-001")
        change(db, "visit", "move", visit, "--to", later, "--reason", "patient travelling")
        moved = server.get(path, **{"If-None-Match": etag})
        assert moved.status_code == 200 and moved.headers["etag"] != etag
        assert check_calendar(moved.content, icaljs, tmp_path) == uids
        before, after = events(first.content), events(moved.content)
        assert int(after[uid]["SEQUENCE"]) > int(before[uid]["SEQUENCE"])

        # A death: the cancelled visits stay, with a higher SEQUENCE.
        yesterday = (date.today() - timedelta(days=1)).isoformat()
        change(db, "participant", "died", "WUH-002", "--on", yesterday)
        died = server.get(path, **{"If-None-Match": moved.headers["etag"]})
        assert died.status_code == 200
        assert check_calendar(died.content, icaljs, tmp_path) == uids
        now = events(died.content)
        cancelled = [u for u, fields in now.items() if fields.get("STATUS") == "CANCELLED"]
        assert cancelled
        for cancelled_uid in cancelled:
            assert int(now[cancelled_uid]["SEQUENCE"]) > int(after[cancelled_uid]["SEQUENCE"])

        # A participant's feed, rotated: the old path stops, the new one works.
        mine = create_feed(db, "--participant", "WUH-001")
        assert server.get(mine["path"]).status_code == 200
        rotated = json.loads(change(db, "feed", "rotate", str(mine["id"]), "--format", "json"))
        assert_not_found(server.get(mine["path"]))
        fresh = server.get(rotated["path"])
        assert fresh.status_code == 200
        assert check_calendar(fresh.content, icaljs, tmp_path) == scope_uids(
            db, ExportScope(participant="WUH-001")
        )
        assert b"X-WR-CALNAME:planner: WUH-001\r\n" in fresh.content

        # Revoked, expired, unknown, malformed: the same 404.
        change(db, "feed", "revoke", str(site["id"]))
        assert_not_found(server.get(path))
        assert_not_found(server.get(path, "HEAD"), head=True)
        ending = create_feed(db, "--protocol", "ucmsc-dlc", "--expires", date.today().isoformat())
        assert server.get(ending["path"]).status_code == 200
        expire(int(ending["id"]))
        time.sleep(2 * RECENT_SECONDS)  # the last answer is reused that long
        assert_not_found(server.get(ending["path"]))
        for wrong in (
            "/feeds/" + "A" * 32 + ".ics",
            "/feeds/" + rotated["token"][:-1] + ".ics",
            "/feeds/" + rotated["token"] + ".ICS",
            "/feeds/" + rotated["token"],
            "/feeds/" + rotated["token"] + ".ics/x",
            "/feeds/",
            "/feeds/%00.ics",
            "/nothing",
            # A live token under another path: never in the access log either.
            "//feeds/" + rotated["token"] + ".ics",
            "/FEEDS/" + rotated["token"] + ".ics",
            "/feed/" + rotated["token"] + ".ics",
            "/" + rotated["token"],
        ):
            assert_not_found(server.get(wrong))
        assert server.get("/healthz").headers["referrer-policy"] == "no-referrer"
    assert_stopped_cleanly(server)
    tokens = [site["token"], mine["token"], rotated["token"], ending["token"]]
    return tokens, server


def assert_stopped_cleanly(server: Server) -> None:
    """Requests finished, counts written, database closed; then uvicorn ends the
    process with the signal it caught, which service managers count as a clean stop."""
    output = server.output.read_text()
    assert server.process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output and "Traceback" not in output


def assert_not_found(response: httpx.Response, *, head: bool = False) -> None:
    assert response.status_code == 404
    assert response.content == (b"" if head else NOT_FOUND)
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "etag" not in response.headers and "last-modified" not in response.headers


def assert_secrets_kept(tokens: list[str], server: Server, stored: bytes) -> None:
    """No token in the database, the server's output, or any response header."""
    output = server.output.read_bytes()
    headers = "\n".join(str(list(response.headers.multi_items())) for response in server.responses)
    assert b"/feeds/[redacted]" in output and b"Application shutdown complete" in output
    for token in tokens:
        assert token.encode() not in stored
        assert token.encode() not in output
        assert token not in headers


def test_the_feed_scenario_on_sqlite(tmp_path: Path, icaljs: IcalJs) -> None:
    db = str(tmp_path / "planner.db")

    def expire(feed_id: int) -> None:  # as if the expiry date had passed
        with sqlite3.connect(db) as connection:
            connection.execute("UPDATE feeds SET expires_on = '2020-01-01' WHERE id = ?", [feed_id])

    tokens, server = scenario(db, tmp_path, icaljs, expire)

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("planner.db*"))
    assert_secrets_kept(tokens, server, stored)
    listed = {row["id"]: row for row in json.loads(planner(db, "feed", "list", "--format", "json"))}
    assert listed[1]["hits"] >= 10 and listed[1]["state"] == "revoked"  # counted, written at stop
    assert listed[1]["last_used"] is not None


def test_serve_binds_to_loopback_and_stops_gracefully(tmp_path: Path) -> None:
    db = str(tmp_path / "planner.db")
    with serving(db, tmp_path / "server.log", "--no-access-log") as server:
        assert server.get("/healthz").text == "ok\n"
        assert_not_found(server.get("/nothing"))
        assert server.get("/").headers["location"] == "/login?next=%2F"  # the web page
        assert server.get("/healthz", "POST").status_code == 405
        listening = server.output.read_text()
    assert f"Uvicorn running on http://127.0.0.1:{server.port}" in listening
    assert_stopped_cleanly(server)
    assert "GET /healthz" not in server.output.read_text()


def test_serve_on_a_port_in_use_or_an_unknown_host_says_so_in_one_line(tmp_path: Path) -> None:
    """Not uvicorn's six log lines and exit 3: the command line's own sentence."""
    db = str(tmp_path / "planner.db")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = f"cannot listen on 127.0.0.1:{port}: Address already in use"
        unknown = "--host 'nowhere.invalid' is not an address of this machine"
        for args, code, says in (
            (("--port", str(port)), 1, in_use),
            (("--host", "nowhere.invalid"), 2, unknown),
        ):
            done = subprocess.run(
                [sys.executable, "-c", "from planner.cli.root import main; main()",
                 "--db", db, "serve", *args],
                capture_output=True, text=True, timeout=60, cwd=tmp_path,
            )  # fmt: skip
            assert (done.returncode, done.stdout, done.stderr) == (
                code,
                "",
                f"planner: error: {says}\n",
            ), args


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_serving_beyond_this_machine_warns(tmp_path: Path, host: str, warned: bool) -> None:
    """Plain HTTP on every interface (logins, participants' visits) is a
    mistake unless a reverse proxy with TLS is in front: said on stderr."""
    server = Server(str(tmp_path / "planner.db"), tmp_path / "server.log", "--host", host)
    server.stop()
    output = server.output.read_text()
    warning = f"planner: warning: listening on {host}, not only this machine: logins and"
    assert (warning in output) == warned, output


def test_a_request_path_cannot_forge_log_lines_or_drive_the_terminal(tmp_path: Path) -> None:
    """The access log shows the caller's path escaped: %0A would start a forged
    line, %1B reach the terminal of whoever reads the log, %22 end the request."""
    db = str(tmp_path / "planner.db")
    forged = '2026-01-01 10:00:00,000 127.0.0.1 "POST /participants/WUH-001/complete HTTP/1.1" 200'
    with serving(db, tmp_path / "server.log") as server:
        assert_not_found(server.get("/x%0A" + forged.replace(" ", "%20").replace('"', "%22")))
        assert_not_found(server.get("/y%1B[2J%1B[31mRED%00"))
    output = server.output.read_bytes()
    assert b"\x1b" not in output and b"\x00" not in output
    lines = output.decode().splitlines()
    assert not any(line.startswith("2026-01-01 10:00:00,000") for line in lines)
    logged = [line for line in lines if '"GET /x' in line or '"GET /y' in line]
    assert len(logged) == 2, lines
    assert "\\n2026-01-01 10:00:00,000 127.0.0.1 \\x22POST /participants" in logged[0]
    assert "/y\\x1b[2J\\x1b[31mRED\\x00 HTTP/1.1" in logged[1]


def test_gzip_is_deterministic() -> None:
    body = b"BEGIN:VCALENDAR\r\n" * 200
    assert gzip.compress(body, 6, mtime=0) == gzip.compress(body, 6, mtime=0)
