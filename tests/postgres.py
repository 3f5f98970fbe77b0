"""A real, throwaway PostgreSQL server for the tests.

``PLANNER_TEST_POSTGRES`` (an SQLAlchemy URL of a server where the tests may
create databases) is used when set. Otherwise the server binaries of the
machine start a private cluster in a temporary folder, on a free loopback
port, stopped at the end of the session. Without binaries the tests are
skipped, except when ``CI`` is set: there they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest


def _binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server (database ``postgres``)."""
    given = os.environ.get("PLANNER_TEST_POSTGRES")
    if given:
        yield given
        return
    binaries = _binaries()
    if binaries is None:
        reason = "PostgreSQL server binaries are needed for the PostgreSQL tests"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set: install postgresql", pytrace=False)
        pytest.skip(f"{reason}; not installed here (with CI set this fails)")
    # The server refuses to run as root: run it as the postgres user there.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = tempfile.mkdtemp(prefix="planner-pg-", dir="/tmp")
    if as_user:
        shutil.chown(data, "postgres")
    port = _free_port()
    try:
        subprocess.run(
            [*as_user, f"{binaries}/initdb", "-D", data, "-A", "trust", "-U", "planner",
             "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*as_user, f"{binaries}/pg_ctl", "-D", data, "-o", options, "-l",
             f"{data}/server.log", "-w", "-t", "60", "start"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield f"postgresql+psycopg://planner@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, f"{binaries}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the server for one test, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(postgres_server)
    name = f"planner_test_{uuid.uuid4().hex[:12]}"
    plain = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
