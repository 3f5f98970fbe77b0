"""``planner serve``: the calendar feed server (uvicorn running planner.server)."""

from __future__ import annotations

import os

import click

from planner.cli.root import main, open_planner

#: Seconds uvicorn gives the requests under way after SIGTERM or Ctrl-C.
GRACE_SECONDS = 10


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (more than one wants PostgreSQL, or at least a busy SQLite file).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="One line per request on stderr (feed paths redacted).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the web page, the JSON API and calendar feeds until SIGTERM or Ctrl-C.

    Pages at / (log in with an account from `planner user add`), the JSON API
    at /api/v1/ (session or `planner user token`), GET /feeds/<token>.ics (see
    `planner feed create`) and GET /healthz. Put a reverse proxy with TLS in
    front of it for anything but this machine.
    """
    import uvicorn

    _check_listen(host, port)
    planner = open_planner(ctx)  # the database is checked before any worker starts
    url = planner.url.render_as_string(hide_password=False)
    planner.close()
    os.environ["PLANNER_DB"] = url  # inherited by every worker process
    os.environ["PLANNER_ACCESS_LOG"] = "1" if access_log else "0"
    uvicorn.run(
        "planner.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # ours (planner.server.frame) redacts feed paths
        server_header=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
        log_level="info",
    )


def _check_listen(host: str, port: int) -> None:
    """One clear sentence, before uvicorn logs its own, when the address cannot
    be listened on (a port in use, an unknown host)."""
    import ipaddress
    import socket

    from planner.core.errors import InputError, PlannerError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError):
        raise InputError(
            f"--host {host!r} is not an address of this machine", field="host"
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as error:
            raise PlannerError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    if not ipaddress.ip_address(address[0]).is_loopback:
        click.echo(
            f"planner: warning: listening on {host}, not only this machine: logins and "
            "participants' visits travel as plain HTTP unless a reverse proxy with TLS is in "
            'front (README, "Running the server for a site")',
            err=True,
        )
