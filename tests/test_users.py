"""Users, logins, sessions and API tokens through the Python API, on real
SQLite files (and a real PostgreSQL server), with a clock the tests move.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from planner.app import LoginRefused, Planner, UserInfo
from planner.app.passwords import HASHER, verify
from planner.core.errors import Conflict, InputError, NotFound
from planner.core.users import backoff, csrf_ok, csrf_token, retry_after, session_expiry
from planner.store.migrate import alembic_config
from tests.conftest import NOW, dump

PASSWORD = "correct horse battery"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(db_path: Path, clock: Clock) -> Iterator[Planner]:
    """Two sites, a coordinator of WUH (alice) and an admin of all sites (root)."""
    with Planner(str(db_path), actor="tester", clock=clock) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        planner.add_site("NYC", "America/New_York")
        planner.users.add("alice", "coordinator", ["WUH"], password=PASSWORD)
        planner.users.add("root", "admin", None, password=PASSWORD)
        yield planner


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def refused(planner: Planner, name: str, password: str) -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        planner.users.login(name, password)
    return caught.value


# ------------------------------------------------------------------ pure rules


def test_the_back_off_doubles_from_the_third_failure_up_to_fifteen_minutes() -> None:
    assert [backoff(n).total_seconds() for n in range(0, 14)] == [
        0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900,
    ]  # fmt: skip
    assert backoff(10_000) == timedelta(minutes=15)
    assert retry_after(NOW + timedelta(seconds=1.2), NOW) == 2
    assert retry_after(NOW, NOW) == 0
    assert retry_after(None, NOW) == 0


def test_sessions_end_eight_hours_idle_or_twelve_after_login() -> None:
    assert session_expiry(NOW, NOW) == NOW + timedelta(hours=8)
    assert session_expiry(NOW, NOW + timedelta(hours=3)) == NOW + timedelta(hours=11)
    assert session_expiry(NOW, NOW + timedelta(hours=7)) == NOW + timedelta(hours=12)


def test_the_csrf_token_is_hmac_sha256_of_csrf_keyed_by_the_session_id() -> None:
    session_id = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
    # printf csrf | openssl dgst -sha256 -hmac abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ
    expected = "83b0bf74d2d4ff02b1785bd9cde333632ff164dd29dacd01087557bb82bfccc9"

    assert csrf_token(session_id) == expected
    assert csrf_ok(session_id, expected)
    assert not csrf_ok(session_id, expected.upper())
    assert not csrf_ok(session_id, expected[:-1] + "0")
    assert not csrf_ok(session_id, "")
    assert not csrf_ok(session_id, None)


# ------------------------------------------------------------------ accounts


def test_add_list_and_one(api: Planner, clock: Clock) -> None:
    added = api.users.add("Nurse.Bo", "viewer", ["NYC", "WUH"])

    assert added.password is not None and len(added.password) >= 16
    assert added.user == UserInfo(
        name="nurse.bo",
        role="viewer",
        sites=("NYC", "WUH"),
        all_sites=False,
        disabled=False,
        created=NOW,
        last_login=None,
    )
    assert [u.name for u in api.users.list()] == ["alice", "nurse.bo", "root"]
    assert api.users.one("NURSE.BO") == added.user
    root = api.users.one("root")
    assert (root.all_sites, root.sites) == (True, ())
    assert api.users.login("nurse.bo", added.password).user.name == "nurse.bo"


def test_what_each_role_may_do_and_see(api: Planner) -> None:
    viewer = api.users.add("vic", "viewer", ["NYC"]).user
    alice, root = api.users.one("alice"), api.users.one("root")

    assert [(u.can_record, u.can_admin) for u in (viewer, alice, root)] == [
        (False, False),
        (True, False),
        (True, True),
    ]
    assert (alice.sees("WUH"), alice.sees("NYC"), viewer.sees("WUH")) == (True, False, False)
    assert root.sees("NYC") and root.sees("ANY")


@pytest.mark.parametrize(
    ("args", "error", "field", "text"),
    [
        (("bob", "nurse", ["WUH"]), InputError, "role", "unknown role 'nurse'"),
        (("bob", "viewer", ["XXX"]), NotFound, "site", "unknown site 'XXX'"),
        (("bob", "viewer", []), InputError, "site", "at least one site"),
        (("-bob", "viewer", None), InputError, "name", "the user name '-bob'"),
        (("b b", "viewer", None), InputError, "name", "the user name 'b b'"),
        (("x" * 65, "viewer", None), InputError, "name", "the user name"),
        (("ALICE", "viewer", None), Conflict, "name", "a user named 'alice' exists already"),
    ],
)
def test_bad_users_are_refused_and_nothing_is_written(
    api: Planner, db_path: Path, args: tuple[str, str, list[str] | None], error: type[Exception],
    field: str, text: str,
) -> None:  # fmt: skip
    before = dump(db_path)

    with pytest.raises(error) as caught:
        api.users.add(*args)

    assert type(caught.value) is error
    assert text in str(caught.value)
    assert caught.value.field == field
    assert dump(db_path) == before


@pytest.mark.parametrize("password", ["", "eleven char", "x" * 1025])
def test_a_given_password_has_twelve_to_1024_characters(api: Planner, password: str) -> None:
    with pytest.raises(InputError, match=r"the password is \d+ characters long") as caught:
        api.users.add("bob", "viewer", None, password=password)
    assert caught.value.field == "password"
    assert password not in str(caught.value) or password == ""
    api.users.add("bob", "viewer", None, password="twelve chars")


def test_unknown_users_are_named(api: Planner) -> None:
    for action in (
        lambda: api.users.one("nobody"),
        lambda: api.users.disable("nobody"),
        lambda: api.users.set_password("nobody", PASSWORD),
        lambda: api.users.new_token("nobody"),
    ):
        with pytest.raises(NotFound, match="unknown user 'nobody'"):
            action()


def test_changes_are_audited_without_secrets(api: Planner, db_path: Path) -> None:
    token = api.users.new_token("alice").token
    api.users.set_password("alice", "another good password")
    api.acting_as("root").users.disable("alice")
    api.users.login("root", PASSWORD)  # logins are not audited

    rows = [
        (actor, action, json.loads(before) if before else None, json.loads(after))
        for actor, action, before, after in query(
            db_path,
            "SELECT actor, action, before, after FROM audit WHERE action LIKE 'user-%' ORDER BY id",
        )
    ]

    assert rows == [
        ("tester", "user-add", None, {"user": "alice", "role": "coordinator", "sites": ["WUH"]}),
        ("tester", "user-add", None, {"user": "root", "role": "admin", "sites": "all"}),
        ("tester", "user-token", None, {"user": "alice", "token_id": 1}),
        ("tester", "user-password", None, {"user": "alice"}),
        (
            "root",
            "user-disable",
            {"user": "alice", "disabled": False},
            {"user": "alice", "disabled": True, "tokens_revoked": 1},
        ),
    ]
    trail = json.dumps([record.to_json() for record in api.audit(None)])
    hashes = [h for (h,) in query(db_path, "SELECT password_hash FROM users")]
    for secret in [token, PASSWORD, "another good password", *hashes]:
        assert secret not in trail


def test_secrets_are_stored_only_as_hashes_and_digests(
    api: Planner, db_path: Path, tmp_path: Path
) -> None:
    generated = api.users.add("bob", "viewer", None).password
    assert generated is not None
    session_id = api.users.login("bob", generated).session_id
    token = api.users.new_token("bob").token
    api.close()

    (password_hash,) = query(db_path, "SELECT password_hash FROM users WHERE name = 'bob'")[0]
    assert str(password_hash).startswith("$argon2id$")
    assert verify(str(password_hash), generated)
    assert query(db_path, "SELECT digest FROM sessions") == [
        (hashlib.sha256(session_id.encode()).hexdigest(),)
    ]
    assert query(db_path, "SELECT digest FROM api_tokens") == [
        (hashlib.sha256(token.encode()).hexdigest(),)
    ]
    files = [p for p in tmp_path.iterdir() if p.name.startswith(db_path.name)]
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in (generated, session_id, token, PASSWORD):
            assert secret.encode() not in data, path.name


# ------------------------------------------------------------------ logins


def test_a_login_starts_a_new_session_each_time(api: Planner, db_path: Path, clock: Clock) -> None:
    first = api.users.login("alice", PASSWORD)
    clock.advance(minutes=5)
    second = api.users.login(" Alice ", PASSWORD)

    assert first.session_id != second.session_id
    assert len(first.session_id) == 43  # 256 bits, URL-safe base64
    assert first.csrf == csrf_token(first.session_id) != second.csrf
    assert second.expires == clock.now + timedelta(hours=8)
    assert second.user.last_login == clock.now
    assert api.users.one("alice").last_login == clock.now
    found = api.users.session(first.session_id)
    assert found is not None
    assert (found.user.name, found.csrf) == ("alice", first.csrf)
    assert query(db_path, "SELECT count(*) FROM sessions") == [(2,)]


def test_wrong_password_and_unknown_name_are_refused_alike(api: Planner) -> None:
    wrong = refused(api, "alice", "not the password")
    unknown = refused(api, "nobody", PASSWORD)

    assert str(wrong) == str(unknown) == "the user name or the password is wrong"
    assert wrong.retry_after == unknown.retry_after == 0


def test_failures_back_off_without_checking_the_password(api: Planner, clock: Clock) -> None:
    assert [refused(api, "alice", "wrong password").retry_after for _ in range(3)] == [0, 0, 1]
    locked = refused(api, "alice", PASSWORD)  # the right password, refused unchecked
    assert locked.retry_after == 1
    assert str(locked) == "too many failed logins: try again in 1 seconds"

    clock.advance(seconds=1)
    assert refused(api, "alice", "wrong password").retry_after == 2
    clock.advance(seconds=1)
    assert refused(api, "alice", PASSWORD).retry_after == 1
    clock.advance(seconds=1)
    assert api.users.login("alice", PASSWORD).user.name == "alice"  # and the count starts again
    assert [refused(api, "alice", "wrong password").retry_after for _ in range(3)] == [0, 0, 1]


def test_the_back_off_stops_at_fifteen_minutes(api: Planner, clock: Clock) -> None:
    waits = []
    for _ in range(16):
        waits.append(refused(api, "root", "wrong password").retry_after)
        clock.advance(seconds=waits[-1])

    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]


def test_unknown_names_back_off_on_the_same_schedule(api: Planner, clock: Clock) -> None:
    known = [refused(api, "alice", "wrong password").retry_after for _ in range(4)]
    unknown = [refused(api, "mallory", "wrong password").retry_after for _ in range(4)]

    assert known == unknown == [0, 0, 1, 1]


def test_an_unknown_name_costs_an_argon2_verification(api: Planner) -> None:
    hashed = HASHER.hash("something else entirely")

    def seconds(action: Callable[[], object]) -> float:
        start = time.perf_counter()
        with contextlib.suppress(LoginRefused):
            action()
        return time.perf_counter() - start

    verifying, unknown = [], []
    for number in range(5):  # interleaved, and the fastest of each: the least disturbed
        verifying.append(seconds(lambda: verify(hashed, "wrong password")))
        unknown.append(seconds(partial(api.users.login, f"nobody-{number}", "wrong password")))

    assert min(unknown) >= 0.7 * min(verifying)


def test_a_disabled_user_cannot_log_in_and_loses_sessions_and_tokens(api: Planner) -> None:
    login = api.users.login("alice", PASSWORD)
    token = api.users.new_token("alice").token
    assert api.users.by_token(token) is not None

    disabled = api.users.disable("alice")

    assert disabled.disabled and not disabled.can_record
    assert api.users.session(login.session_id) is None
    assert api.users.by_token(token) is None
    assert str(refused(api, "alice", PASSWORD)) == "the user name or the password is wrong"
    with pytest.raises(Conflict, match="user 'alice' is disabled already"):
        api.users.disable("alice")
    with pytest.raises(Conflict, match="user 'alice' is disabled; it cannot have a token"):
        api.users.new_token("alice")


def test_a_new_password_ends_the_sessions(api: Planner) -> None:
    old = api.users.login("alice", PASSWORD)
    refused(api, "alice", "wrong password")

    api.users.set_password("alice", "a brand new password")

    assert api.users.session(old.session_id) is None
    refused(api, "alice", PASSWORD)
    assert api.users.login("alice", "a brand new password").user.name == "alice"


def test_sessions_expire_after_eight_idle_hours(api: Planner, clock: Clock) -> None:
    login = api.users.login("alice", PASSWORD)

    clock.advance(hours=7, minutes=59)
    assert api.users.session(login.session_id) is not None  # and it stays alive from now
    clock.advance(hours=7, minutes=59)
    assert api.users.session(login.session_id) is None  # 12 hours after login
    clock.advance(hours=-4)
    found = api.users.session(login.session_id)
    assert found is not None
    assert found.expires == NOW + timedelta(hours=12)

    other = api.users.login("root", PASSWORD)
    clock.advance(hours=8)
    assert api.users.session(other.session_id) is None


def test_logout_and_unknown_session_ids(api: Planner) -> None:
    login = api.users.login("alice", PASSWORD)

    api.users.logout(login.session_id)
    api.users.logout(login.session_id)  # twice is harmless
    api.users.logout("not a session id")

    assert api.users.session(login.session_id) is None
    assert api.users.session("") is None
    assert api.users.session("x" * 43) is None
    assert api.users.session(login.session_id + "x") is None


def test_api_tokens(api: Planner, db_path: Path, clock: Clock) -> None:
    def last_used() -> list[datetime | None]:
        rows = query(db_path, "SELECT last_used_at FROM api_tokens ORDER BY id")
        return [datetime.fromisoformat(str(used)) if used else None for (used,) in rows]

    first = api.users.new_token("alice")
    second = api.users.new_token("alice")

    assert first.user == "alice" and len(first.token) == 43 and first.token != second.token
    assert last_used() == [None, None]
    found = api.users.by_token(first.token)
    assert found is not None and found.name == "alice" and found.sites == ("WUH",)
    assert last_used() == [NOW, None]
    clock.advance(seconds=30)
    api.users.by_token(first.token)  # written at most once a minute
    assert last_used() == [NOW, None]
    clock.advance(minutes=1)
    api.users.by_token(first.token)
    assert last_used() == [clock.now, None]
    changed = first.token[:-1] + ("B" if first.token[-1] == "A" else "A")
    assert api.users.by_token(changed) is None
    assert api.users.by_token("") is None
    assert api.users.by_token("Bearer " + first.token) is None


# ---------------------------------------------------------------- migration


def test_revision_0007_adds_the_user_tables_to_an_existing_database(
    db_path: Path, clock: Clock
) -> None:
    config = alembic_config(make_url(f"sqlite:///{db_path}"))
    command.upgrade(config, "0006")
    before = table_names(f"sqlite:///{db_path}")

    command.upgrade(config, "0007")
    tables = table_names(f"sqlite:///{db_path}")
    command.upgrade(config, "head")  # later revisions add no table
    assert table_names(f"sqlite:///{db_path}") == tables
    with Planner(str(db_path), clock=clock) as planner:
        planner.users.add("alice", "viewer", None, password=PASSWORD)
        assert planner.users.login("alice", PASSWORD).user.all_sites
    command.downgrade(config, "0006")

    assert tables - before == {"users", "user_sites", "sessions", "api_tokens"}
    assert table_names(f"sqlite:///{db_path}") == before


def test_users_on_postgres(postgres_url: str, clock: Clock) -> None:
    config = alembic_config(make_url(postgres_url))
    command.upgrade(config, "0006")
    command.upgrade(config, "head")
    with Planner(postgres_url, actor="tester", clock=clock) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        planner.users.add("alice", "coordinator", ["WUH"], password=PASSWORD)
        with pytest.raises(Conflict):
            planner.users.add("Alice", "viewer", None, password=PASSWORD)
        assert [refused(planner, "alice", "wrong").retry_after for _ in range(3)] == [0, 0, 1]
        clock.advance(seconds=1)
        login = planner.users.login("alice", PASSWORD)
        found = planner.users.session(login.session_id)
        assert found is not None and found.user.sites == ("WUH",)
        token = planner.users.new_token("alice").token
        user = planner.users.by_token(token)
        assert user is not None and user.name == "alice"
        planner.users.disable("alice")
        assert planner.users.session(login.session_id) is None
        assert planner.users.by_token(token) is None
    command.downgrade(config, "0006")
    tables = table_names(postgres_url)
    assert not tables & {"users", "user_sites", "sessions", "api_tokens"}
