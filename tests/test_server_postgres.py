"""The feed scenario of tests/test_server.py on a real PostgreSQL server,
served by ``planner serve --workers 2`` (two processes, each with its own
cache of rendered calendars, that must give the same validators)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.test_server import IcalJs, assert_secrets_kept, planner, scenario


def plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def every_row(url: str) -> bytes:
    """Every row of every table, as text: what the database holds."""
    with psycopg.connect(plain(url)) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ]
        rows = [repr(connection.execute(f'SELECT * FROM "{table}"').fetchall()) for table in tables]
    assert "feeds" in tables
    return "\n".join(rows).encode()


def test_the_feed_scenario_on_postgres_with_two_workers(
    postgres_url: str, tmp_path: Path, icaljs: IcalJs
) -> None:
    def expire(feed_id: int) -> None:  # as if the expiry date had passed
        with psycopg.connect(plain(postgres_url), autocommit=True) as connection:
            connection.execute(
                "UPDATE feeds SET expires_on = '2020-01-01' WHERE id = %s", [feed_id]
            )

    tokens, server = scenario(postgres_url, tmp_path, icaljs, expire, "--workers", "2")

    assert_secrets_kept(tokens, server, every_row(postgres_url))
    assert server.output.read_text().count("Application startup complete") == 2
    listed = json.loads(planner(postgres_url, "feed", "list", "--format", "json"))
    assert listed[0]["hits"] >= 10  # counted by both workers, written as they stopped
