"""``planner db``: schema upgrades, backups and checks."""

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
@click.option("--force", is_flag=True, help="Replace FILE if it exists (and its -wal, -shm).")
@click.pass_context
def db_backup(ctx: click.Context, file: str, force: bool) -> None:
    """A consistent copy of an SQLite database, even while others write.

    Never over an existing file unless --force; the copy is checked
    (integrity_check) once in place.
    """
    from planner.app.maintenance import backup_database

    open_planner(ctx).close()  # the database is current (or refused, or created)
    pages = backup_database(root_option(ctx, "db"), file, force=force)
    emit(f"backup of {pages} pages written to {file}")


@db.command("restore")
@click.argument("backup", type=click.Path(dir_okay=False))
@click.pass_context
def db_restore(ctx: click.Context, backup: str) -> None:
    """Replace the database's content with a backup's (SQLite).

    The current database is first copied beside it (.before-restore-*.bak);
    the backup and the result are checked (integrity_check).
    """
    from planner.app.maintenance import restore_database

    restored = restore_database(root_option(ctx, "db"), backup)
    if restored.kept:
        emit(f"the previous database was kept as {restored.kept}")
    emit(f"restored {restored.pages} pages from {backup}")


@db.command("check")
@click.pass_context
def db_check(ctx: click.Context) -> None:
    """Check the database: on SQLite, integrity_check, foreign_key_check and
    every stored value readable (a server checks its own pages); everywhere, the
    audit trail's hash chain (every visit, participant, site and protocol source
    against it), its append-only triggers, the protocols' facts, and no two
    participant (or site) codes that differ only in case.

    Prints what each check found; exits 0 when all is well, 1 otherwise.
    Reads only; a file that does not exist is not created.
    """
    from planner.app.maintenance import check_database

    report = check_database(root_option(ctx, "db"))
    for finding in report.findings:
        if not finding.problems:
            emit(f"{finding.check}: {finding.note}")
            continue
        count = len(finding.problems)
        emit(f"{finding.check}: {count} problem{'s' if count > 1 else ''}")
        for problem in finding.problems:
            emit(f"  {one_line(problem)}")
    if report.sound:
        emit("the database is sound")
        return
    failed = ", ".join(f.check for f in report.findings if f.problems)
    click.echo(f"planner: error: the database is damaged ({failed})", err=True)
    ctx.exit(1)


def one_line(text: str) -> str:
    """A problem as SQLite words it, on one line, control characters escaped."""
    flat = " ".join(text.split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in flat)
