"""``planner user`` and the demo's login through the real entry point, on a
real SQLite file: exact output, exit codes, nothing written on failure, and
no password or token anywhere in the database file or the audit trail.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from planner.app import Planner
from tests.conftest import CliResult, dump

Cli = Callable[..., CliResult]

PASSWORD = "correct horse battery"


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result


@pytest.fixture
def sites(cli: Cli) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("site", "add", "NYC", "--timezone", "America/New_York"))


def database_bytes(db_path: Path) -> bytes:
    """The database file and its journal files, as they are on disk."""
    return b"".join(path.read_bytes() for path in sorted(db_path.parent.glob(db_path.name + "*")))


def logs_in(db_path: Path, name: str, password: str) -> bool:
    with Planner(str(db_path)) as planner:
        try:
            planner.users.login(name, password)
        except Exception:
            return False
        return True


@pytest.mark.usefixtures("sites")
def test_add_with_a_generated_password_prints_it_once(cli: Cli, db_path: Path) -> None:
    result = ok(cli("user", "add", "Alice", "--role", "coordinator", "--site", "WUH,NYC"))

    lines = result.stdout.splitlines()
    assert lines[0] == "user alice added: coordinator of NYC, WUH"
    found = re.fullmatch(r"password: ([A-Za-z0-9_-]{24})", lines[1])
    assert found is not None, lines[1]
    assert lines[2] == (
        "Give it to the user over a safe channel: it is shown only now. "
        "Set another with `planner user passwd alice --password-stdin`."
    )
    assert len(lines) == 3
    assert logs_in(db_path, "alice", found.group(1))
    listed = ok(cli("user", "list")).stdout
    assert found.group(1) not in listed


@pytest.mark.usefixtures("sites")
def test_add_list_passwd_disable_and_token(cli: Cli, db_path: Path) -> None:
    added = ok(
        cli("user", "add", "bob", "--role", "viewer", "--site", "NYC", "--site", "WUH",
            "--password-stdin", "--format", "json", input=PASSWORD + "\n")
    )  # fmt: skip
    ok(cli("user", "add", "root", "--role", "admin", "--all-sites", "--password-stdin",
           input=PASSWORD))  # fmt: skip

    as_json = json.loads(added.stdout)
    assert as_json.pop("created").endswith("Z")
    assert as_json == {
        "name": "bob",
        "role": "viewer",
        "sites": ["NYC", "WUH"],
        "disabled": False,
        "last_login": None,
        "password": None,
    }
    assert logs_in(db_path, "bob", PASSWORD)
    listed = ok(cli("user", "list")).stdout.splitlines()
    assert [line.split()[:4] for line in listed] == [
        ["NAME", "ROLE", "SITES", "STATE"],
        ["bob", "viewer", "NYC,", "WUH"],
        ["root", "admin", "all", "sites"],
    ]
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}$", listed[1])  # bob logged in
    assert listed[2].endswith("  -")  # root never did

    changed = ok(cli("user", "passwd", "BOB", "--password-stdin", input="new password here\n"))
    assert changed.stdout == "password of bob changed; their sessions ended\n"
    assert logs_in(db_path, "bob", "new password here")
    assert not logs_in(db_path, "bob", PASSWORD)

    token = ok(cli("user", "token", "bob", "--format", "json"))
    value = json.loads(token.stdout)
    assert set(value) == {"user", "token"} and value["user"] == "bob"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value["token"])
    table = ok(cli("user", "token", "bob")).stdout
    assert re.fullmatch(
        r"API token of bob: [A-Za-z0-9_-]{43}\n"
        r"Send it as `Authorization: Bearer <token>`\. Keep it secret: it is shown only now\.\n",
        table,
    )
    with Planner(str(db_path)) as planner:
        found = planner.users.by_token(value["token"])
        assert found is not None and found.name == "bob"

    disabled = ok(cli("user", "disable", "bob"))
    assert disabled.stdout == "user bob disabled: sessions ended, API tokens revoked\n"
    users = json.loads(ok(cli("user", "list", "--format", "json")).stdout)
    assert [(u["name"], u["disabled"], u["sites"]) for u in users] == [
        ("bob", True, ["NYC", "WUH"]),
        ("root", False, "all"),
    ]
    assert not logs_in(db_path, "bob", "new password here")
    with Planner(str(db_path)) as planner:
        assert planner.users.by_token(value["token"]) is None


def test_an_empty_list(cli: Cli) -> None:
    assert ok(cli("user", "list")).stdout == "(no users)\n"
    assert ok(cli("user", "list", "--format", "json")).stdout == "[]\n"


@pytest.mark.usefixtures("sites")
@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "bob", "--role", "nurse", "--all-sites"), None, "Invalid value for '--role'"),
        (("add", "bob", "--role", "viewer"), None,
         "give either --site CODE[,CODE...] or --all-sites"),
        (("add", "bob", "--role", "viewer", "--site", "WUH", "--all-sites"), None,
         "give either --site CODE[,CODE...] or --all-sites"),
        (("add", "bob", "--role", "viewer", "--site", "LON"), None,
         "unknown site 'LON' (sites: NYC, WUH)"),
        (("add", "bob", "--role", "viewer", "--site", ","), None,
         "a user needs at least one site, or all sites"),
        (("add", "b/b", "--role", "viewer", "--all-sites"), None, "the user name 'b/b' is not"),
        (("add", "alice", "--role", "viewer", "--all-sites"), None,
         "a user named 'alice' exists already"),
        (("add", "bob", "--role", "viewer", "--all-sites", "--password-stdin"), "short\n",
         "the password is 5 characters long; it must have 12 to 1024"),
        (("add", "bob", "--role", "viewer", "--all-sites", "--password-stdin"), "",
         "the password is 0 characters long"),
        (("passwd", "alice"), None, "give the new password on standard input"),
        (("passwd", "nobody", "--password-stdin"), PASSWORD, "unknown user 'nobody'"),
        (("disable", "nobody"), None, "unknown user 'nobody'"),
        (("token", "nobody"), None, "unknown user 'nobody'"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_and_writes_nothing(
    cli: Cli, db_path: Path, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    ok(cli("user", "add", "alice", "--role", "viewer", "--all-sites"))
    before = dump(db_path)

    result = cli("user", *args, input=stdin)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.startswith("planner: error: ")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert dump(db_path) == before


@pytest.mark.usefixtures("sites")
def test_disabling_twice_and_a_token_for_a_disabled_user_are_conflicts(cli: Cli) -> None:
    ok(cli("user", "add", "alice", "--role", "viewer", "--all-sites"))
    ok(cli("user", "disable", "alice"))

    again, token = cli("user", "disable", "alice"), cli("user", "token", "alice")

    assert (again.exit_code, token.exit_code) == (2, 2)
    assert again.stderr == "planner: error: user 'alice' is disabled already\n"
    assert token.stderr == "planner: error: user 'alice' is disabled; it cannot have a token\n"


@pytest.mark.usefixtures("sites")
def test_no_password_or_token_in_the_database_file_or_the_audit_trail(
    cli: Cli, db_path: Path
) -> None:
    generated = ok(cli("user", "add", "alice", "--role", "coordinator", "--site", "WUH"))
    password = generated.stdout.splitlines()[1].removeprefix("password: ")
    ok(cli("user", "add", "bob", "--role", "viewer", "--all-sites", "--password-stdin",
           input=PASSWORD))  # fmt: skip
    ok(cli("user", "passwd", "bob", "--password-stdin", input="second secret words\n"))
    tokens = [json.loads(ok(cli("user", "token", n, "--format", "json")).stdout)["token"]
              for n in ("alice", "bob")]  # fmt: skip
    with Planner(str(db_path)) as planner:
        session_id = planner.users.login("alice", password).session_id
        planner.users.by_token(tokens[0])
    ok(cli("user", "disable", "bob"))
    secrets = [password, PASSWORD, "second secret words", session_id, *tokens]

    stored = database_bytes(db_path)
    trail = ok(cli("audit")).stdout + ok(cli("audit", "--format", "json")).stdout

    for secret in secrets:
        assert secret.encode() not in stored
        assert secret not in trail
    with sqlite3.connect(db_path) as connection:
        digests = {d for (d,) in connection.execute("SELECT digest FROM api_tokens")}
        hashes = [h for (h,) in connection.execute("SELECT password_hash FROM users")]
        actions = [a for (a,) in connection.execute("SELECT action FROM audit ORDER BY id")]
    assert digests == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    assert all(h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for h in hashes)
    assert not any(h in trail for h in hashes)
    assert actions[2:] == [
        "user-add", "user-add", "user-password", "user-token", "user-token", "user-disable",
    ]  # fmt: skip
    assert ok(cli("audit", "verify")).exit_code == 0


# -------------------------------------------------------------------- demo


def test_demo_makes_a_login_and_feeds_once(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    first = ok(cli("demo", "--out", out, "--today", "2026-03-05")).stdout
    second = ok(cli("demo", "--out", out, "--today", "2026-03-05")).stdout

    tail = first.split(f"wrote {out}/NYC.ics")[1].splitlines()[2:]
    found = re.fullmatch(
        r"Web login \(coordinator of WUH and NYC\): user demo, password ([A-Za-z0-9_-]{24})",
        tail[0],
    )
    assert found is not None, tail
    password = found.group(1)
    assert tail[1] == "(the password is shown only now)"
    feeds = [
        re.fullmatch(rf"Calendar feed of {site}: http://127\.0\.0\.1:8000/feeds/([\w-]{{32}})\.ics",
                     line)
        for site, line in zip(("WUH", "NYC"), tail[2:4], strict=True)
    ]  # fmt: skip
    assert all(feeds), tail
    assert tail[4:] == [
        "",
        f"Serve the pages and the feeds: planner --db {db_path} serve",
        "then open http://127.0.0.1:8000/ and log in as demo.",
    ]
    assert second.split(f"wrote {out}/NYC.ics")[1].splitlines()[2:] == [
        "Web login: user demo exists already (its password was shown when it was made);",
        "set a new one with `planner user passwd demo --password-stdin`.",
        "Calendar feed of WUH: feed 1 exists already; `planner feed rotate 1` prints a new link.",
        "Calendar feed of NYC: feed 2 exists already; `planner feed rotate 2` prints a new link.",
        "",
        f"Serve the pages and the feeds: planner --db {db_path} serve",
        "then open http://127.0.0.1:8000/ and log in as demo.",
    ]
    with Planner(str(db_path)) as planner:
        login = planner.users.login("demo", password)
        assert (login.user.role, login.user.sites) == ("coordinator", ("NYC", "WUH"))
        assert len(planner.users.list()) == 1
        listed = planner.feeds.list()
        assert [(f.scope.to_string(), f.label, f.state) for f in listed] == [
            ("site:WUH", "demo", "active"),
            ("site:NYC", "demo", "active"),
        ]
    with sqlite3.connect(db_path) as connection:
        stored = {d for (d,) in connection.execute("SELECT token_digest FROM feeds")}
    assert stored == {hashlib.sha256(f.group(1).encode()).hexdigest() for f in feeds if f}
    assert password.encode() not in database_bytes(db_path)
