"""A real server while another program holds the SQLite file's write lock
(a long ``enroll --csv``, a rebaseline of everyone, ``db upgrade``).

Reading needs no lock (WAL): a read through the API with a token never used
before (its first use is noted) answered only after the writer finished,
and after 30 s with a plain "Internal Server Error" and a traceback in the
log. Noting a token's use or a session's last sight now waits for nobody, so
the read answers at once; a login, which must write its session, answers 503
with the sentence and ``Retry-After`` when the lock outlasts the busy timeout,
and the log has no traceback.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from planner.store.engine import BUSY_TIMEOUT_MS
from tests.test_server import Server
from tests.web import PASSWORD, Seeded, close_clients, csrf_of, seed, serving

__all__ = ["close_clients"]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Seeded, Server]]:
    seeded = seed(str(tmp_path / "planner.db"))
    with serving(seeded.db, tmp_path / "server.log") as server:
        yield seeded, server


def hold_write_lock(db: str, seconds: float, held: threading.Event) -> None:
    """Another program's long writing transaction."""
    connection = sqlite3.connect(db, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
    finally:
        connection.close()


@pytest.mark.slow
def test_reads_answer_and_a_login_is_503_while_another_program_writes(
    site: tuple[Seeded, Server],
) -> None:
    seeded, server = site
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=90)
    form = client.get("/login")
    held = threading.Event()
    writer = threading.Thread(
        target=hold_write_lock, args=(seeded.db, BUSY_TIMEOUT_MS / 1000 + 5, held)
    )
    writer.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        read = client.get("/api/v1/due", headers={"Authorization": f"Bearer {seeded.token}"})
        assert read.status_code == 200, read.text
        assert time.monotonic() - started < 5  # did not wait for the writer
        login = client.post(
            "/login",
            data={"csrf": csrf_of(form.text), "username": "alice", "password": PASSWORD},
        )
        assert login.status_code == 503, login.text
        assert login.headers["retry-after"] == "5"
        assert "the database is busy" in login.text
    finally:
        writer.join()
        client.close()
    after = client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    assert after.get("/api/v1/due", headers={"Authorization": f"Bearer {seeded.token}"}).is_success
    after.close()
    server.stop()
    log = server.output.read_text()
    assert "Traceback" not in log and '"POST /login HTTP/1.1" 503' in log, log[-3000:]
