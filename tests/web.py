"""What the web tests share: a database with two sites and four users, a real
``planner serve`` process, and logged-in HTTP clients.

Dates are relative to today, as the server's clock is the system's: at WUH,
WUH-001 started two days ago (its first infusion is overdue: its window ended
yesterday), WUH-002 and NYC-001 start today (their first infusion is due).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from planner.app import Planner
from planner.cli import main
from tests.test_server import Server

PASSWORD = "correct horse battery staple"
WUH_ZONE = "Asia/Shanghai"
NYC_ZONE = "America/New_York"
USERS = {
    "alice": ("coordinator", ["WUH"]),
    "vic": ("viewer", ["WUH"]),
    "nora": ("coordinator", ["NYC"]),
    "root": ("admin", None),
}
#: The pages a logged-in user of WUH may open.
PAGES = ("/", "/upcoming", "/participants", "/participants/WUH-001", "/feeds", "/audit")
ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@dataclass(frozen=True)
class Seeded:
    db: str
    #: Today at WUH, as the server sees it.
    today: date
    #: An API token of alice's (WUH coordinator).
    token: str


def seed(db: str) -> Seeded:
    """Two sites, three participants, four users (every password is PASSWORD)."""
    with Planner(db, actor="setup") as api:
        api.add_site("WUH", WUH_ZONE, "Wuhan")
        api.add_site("NYC", NYC_ZONE, "New York")
        today = api.today(WUH_ZONE)
        api.enroll("WUH-001", "ucmsc-dlc", "G1", "WUH", today - timedelta(days=2))
        api.enroll("WUH-002", "ucmsc-dlc", "G1", "WUH", today)
        api.enroll("NYC-001", "ucmsc-dlc", "G1", "NYC", api.today(NYC_ZONE))
        for name, (role, sites) in USERS.items():
            api.users.add(name, role, sites, password=PASSWORD)
        token = api.users.new_token("alice").token
    return Seeded(db, today, token)


def cli(db: str, *args: str) -> Result:
    """The command line through its entry point (click's runner: in this process,
    fast; the server is another process all the same)."""
    result = CliRunner().invoke(main, [f"--db={db}", *args], catch_exceptions=False)
    assert result.exit_code == 0, f"planner {' '.join(args)}: {result.stderr}"
    return result


@contextmanager
def serving(db: str, log: Path) -> Iterator[Server]:
    server = Server(db, log)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def running(folder: Path) -> Iterator[tuple[Seeded, Server]]:
    """A seeded database in ``folder`` and a server on it, stopped afterwards."""
    seeded = seed(str(folder / "planner.db"))
    with serving(seeded.db, folder / "server.log") as server:
        yield seeded, server


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


#: Every client made, closed after each test by :func:`close_clients`.
OPEN: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    """Close the test's clients (import this fixture into a test module)."""
    yield
    while OPEN:
        OPEN.pop().close()


class Browser(httpx.Client):
    """An HTTP client with cookies, like one browser; every response is kept."""

    def __init__(self, server: Server, **options: object) -> None:
        super().__init__(
            base_url=f"http://127.0.0.1:{server.port}",
            timeout=30,
            follow_redirects=False,
            event_hooks={"response": [self._keep]},
            **options,  # type: ignore[arg-type]
        )
        self.seen: list[httpx.Response] = []
        OPEN.append(self)

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        self.seen.append(response)

    def log_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        form = self.get("/login")
        assert form.status_code == 200
        answer = self.post(
            "/login",
            data={"csrf": csrf_of(form.text), "username": name, "password": password},
        )
        return answer

    def page_csrf(self, path: str = "/") -> str:
        answer = self.get(path)
        assert answer.status_code == 200, answer.text
        return csrf_of(answer.text)


def logged_in(server: Server, name: str) -> Browser:
    browser = Browser(server)
    answer = browser.log_in(name)
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    return browser


def visit_row(db: str, visit: str) -> dict[str, object]:
    with Planner(db, actor="test") as api:
        for record in api.schedule(visit.rsplit("/", 2)[0]):
            if record.visit_id == visit:
                return record.to_json()
    raise AssertionError(f"no visit {visit}")
