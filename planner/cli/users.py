"""``planner user``: accounts of the web page and the JSON API.

Passwords come from standard input (never from an option, which other users
of the machine could read in the process list) or are generated; a generated
password and an API token are printed once and stored only as a hash or digest.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Literal

import click

from planner.cli.root import emit, main, open_planner
from planner.core.users import ROLES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from planner.app import NewToken, NewUser, UserInfo

SecretFormat = Literal["table", "json"]
SECRET_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
PASSWORD_STDIN = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input.",
)


@main.group()
def user() -> None:
    """Users of the web page and the JSON API: roles, sites, passwords, tokens."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="viewer: reads; coordinator: also records visits and creates or "
              "revokes its sites' feeds; admin: also manages users.")  # fmt: skip
@click.option("--site", "sites", metavar="CODE[,CODE...]", multiple=True,
              help="The sites the user sees (repeat, or separate with commas).")  # fmt: skip
@click.option("--all-sites", is_flag=True, help="The user sees every site, new ones too.")
@PASSWORD_STDIN
@SECRET_FORMAT
@click.pass_context
def user_add(
    ctx: click.Context,
    name: str,
    role: str,
    sites: tuple[str, ...],
    all_sites: bool,
    password_stdin: bool,
    fmt: SecretFormat,
) -> None:
    """Add a user; without --password-stdin a password is generated and printed once."""
    if all_sites == bool(sites):
        raise click.UsageError("give either --site CODE[,CODE...] or --all-sites")
    codes = None if all_sites else [c.strip() for t in sites for c in t.split(",") if c.strip()]
    password = read_password() if password_stdin else None
    added = open_planner(ctx).users.add(name, role, codes, password=password)
    emit(render_new_user(added, fmt))


@user.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.pass_context
def user_list(ctx: click.Context, fmt: SecretFormat) -> None:
    """List the users: role, sites, state, last login (never a password)."""
    emit(render_users(open_planner(ctx).users.list(), fmt))


@user.command("disable")
@click.argument("name")
@click.pass_context
def user_disable(ctx: click.Context, name: str) -> None:
    """Disable a user: their sessions end and their API tokens stop working."""
    disabled = open_planner(ctx).users.disable(name)
    emit(f"user {disabled.name} disabled: sessions ended, API tokens revoked")


@user.command("passwd")
@click.argument("name")
@PASSWORD_STDIN
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a user's password (read from standard input); their sessions end."""
    if not password_stdin:
        raise click.UsageError("give the new password on standard input, with --password-stdin")
    changed = open_planner(ctx).users.set_password(name, read_password())
    emit(f"password of {changed.name} changed; their sessions ended")


@user.command("token")
@click.argument("name")
@SECRET_FORMAT
@click.pass_context
def user_token(ctx: click.Context, name: str, fmt: SecretFormat) -> None:
    """Make a new API token for a user and print it once."""
    emit(render_new_token(open_planner(ctx).users.new_token(name), fmt))


def read_password() -> str:
    """The first line of standard input, without its line break."""
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


def render_new_user(added: NewUser, fmt: SecretFormat) -> str:
    if fmt == "json":
        return json.dumps({**added.user.to_json(), "password": added.password}, indent=2)
    who = added.user
    lines = [f"user {who.name} added: {who.role} of {_sites(who)}"]
    if added.password is not None:
        lines += [
            f"password: {added.password}",
            "Give it to the user over a safe channel: it is shown only now. "
            f"Set another with `planner user passwd {who.name} --password-stdin`.",
        ]
    return "\n".join(lines)


def render_new_token(token: NewToken, fmt: SecretFormat) -> str:
    if fmt == "json":
        return json.dumps({"user": token.user, "token": token.token}, indent=2)
    return (
        f"API token of {token.user}: {token.token}\n"
        "Send it as `Authorization: Bearer <token>`. Keep it secret: it is shown only now."
    )


def render_users(users: Sequence[UserInfo], fmt: SecretFormat) -> str:
    from planner.cli.tables import table

    if fmt == "json":
        return json.dumps([u.to_json() for u in users], ensure_ascii=False, indent=2)
    if not users:
        return "(no users)"
    body = [
        [
            u.name,
            u.role,
            _sites(u),
            "disabled" if u.disabled else "active",
            f"{u.created:%Y-%m-%d}",
            f"{u.last_login:%Y-%m-%d %H:%M}" if u.last_login else "-",
        ]
        for u in users
    ]
    headers = ["NAME", "ROLE", "SITES", "STATE", "CREATED", "LAST LOGIN (UTC)"]
    return table(headers, body, shrink=(2,))


def _sites(user: UserInfo) -> str:
    return "all sites" if user.all_sites else ", ".join(user.sites)
