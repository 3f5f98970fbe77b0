"""``planner db``: schema upgrades and backups."""

from __future__ import annotations

import click

from planner.cli.root import emit, main, open_planner, root_option


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database to this version's schema (SQLite: backup first)."""
    from planner.app.maintenance import upgrade_database

    upgraded = upgrade_database(root_option(ctx, "db"))
    if upgraded.backup:
        emit(f"backup written to {upgraded.backup}")
    emit(f"database is at schema revision {upgraded.revision}")


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=True))
@click.pass_context
def db_backup(ctx: click.Context, file: str) -> None:
    """A consistent copy of an SQLite database, even while others write."""
    pages = open_planner(ctx).backup(file)
    emit(f"backup of {pages} pages written to {file}")
