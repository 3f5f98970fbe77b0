"""``audit verify`` and who may see what: users, API tokens and feeds.

A user's role and sites (``user add``), a disabling, an API token
(``user token``), a feed's scope, label and expiry (``feed create``) and its
revocation (``feed revoke``) are in the audit trail: a user made an admin of
every site in the file, a revoked feed brought back or pointed at another
site, are named.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.test_audit_chain import broken, ok, tamper

Cli = Callable[..., CliResult]

PASSWORD = "a long enough password\n"


def access_scenario(cli: Cli) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("site", "add", "NYC", "--timezone", "America/New_York"))
    for name, role, sites in (("ana", "coordinator", ("--site", "WUH")),
                              ("vic", "viewer", ("--site", "WUH", "--site", "NYC")),
                              ("root", "admin", ("--all-sites",))):  # fmt: skip
        ok(cli("user", "add", name, "--role", role, *sites, "--password-stdin", input=PASSWORD))
    ok(cli("user", "token", "ana"))
    ok(cli("user", "token", "vic"))
    ok(cli("user", "passwd", "ana", "--password-stdin", input="another long password\n"))
    ok(cli("user", "disable", "vic"))
    made = []
    for site, label in (("WUH", "nurses"), ("NYC", "ny")):
        created = ok(cli("feed", "create", "--site", site, "--label", label, "--format", "json"))
        made.append(json.loads(created.stdout)["id"])
    ok(cli("feed", "rotate", str(made[0])))
    ok(cli("feed", "revoke", str(made[1])))


def test_users_tokens_and_feeds_as_their_commands_left_them_verify_intact(cli: Cli) -> None:
    access_scenario(cli)
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("UPDATE users SET role = 'admin', all_sites = 1 WHERE name = 'ana'",
         "user ana is admin of all, but was added as coordinator of ['WUH']"),
        ("INSERT INTO user_sites (user_id, site_id) SELECT u.id, s.id FROM users u, sites s"
         " WHERE u.name = 'ana' AND s.code = 'NYC'",
         "user ana is coordinator of ['NYC', 'WUH'], but was added as coordinator of ['WUH']"),
        ("UPDATE users SET disabled = 0 WHERE name = 'vic'", "user vic is enabled"),
        ("UPDATE users SET disabled = 1 WHERE name = 'ana'", "user ana is disabled"),
        ("INSERT INTO users (name, role, all_sites, password_hash, disabled, created_at,"
         " failed_logins) SELECT 'eve', 'admin', 1, password_hash, 0, created_at, 0"
         " FROM users WHERE name = 'ana'",
         "user eve has no audit row (added without one)"),
        ("UPDATE api_tokens SET revoked_at = NULL", "of disabled user vic is not revoked"),
        ("INSERT INTO api_tokens (digest, user_id, created_at) SELECT 'x', id, created_at"
         " FROM users WHERE name = 'root'", "of user root has no audit row"),
        ("UPDATE feeds SET scope_value = 'NYC' WHERE label = 'nurses'",
         "reads site:NYC ('nurses', expires None)"),
        ("UPDATE feeds SET revoked_at = NULL WHERE label = 'ny'", "is active"),
    ],
)  # fmt: skip
def test_access_changed_without_an_audit_row_is_named(
    cli: Cli, db_path: Path, statement: str, says: str
) -> None:
    access_scenario(cli)
    tamper(db_path, statement)
    broken(cli("audit", "verify"), says)
