"""``planner feed``: calendar subscription feeds (served by `planner serve`)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Literal

import click

from planner.cli.params import DATE, FORMAT, PROTOCOL, SITE
from planner.cli.root import emit, main, open_planner

if TYPE_CHECKING:
    from planner.cli.render import Format

SECRET_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)


@main.group()
def feed() -> None:
    """Calendar feeds: secret links that calendars subscribe to."""


@feed.command("create")
@SITE
@click.option("--participant", metavar="P")
@PROTOCOL
@click.option("--label", default="", help="Who or what the feed is for (shown in the list).")
@click.option("--expires", type=DATE, help="The last day (UTC) the feed works.")
@SECRET_FORMAT
@click.pass_context
def feed_create(
    ctx: click.Context,
    site_code: str | None,
    participant: str | None,
    protocol_id: str | None,
    label: str,
    expires: date | None,
    fmt: Literal["table", "json"],
) -> None:
    """Create a feed of a site's, a participant's or a protocol's visits.

    Shows its secret path once; give it to the calendar as
    https://YOUR-HOST/feeds/<token>.ics.
    """
    from planner.app import FeedScope
    from planner.cli.render import render_new_feed

    given = {"site": site_code, "participant": participant, "protocol": protocol_id}
    chosen = [(kind, value) for kind, value in given.items() if value is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --site, --participant, --protocol")
    scope = FeedScope.from_string(f"{chosen[0][0]}:{chosen[0][1]}")
    created = open_planner(ctx).feeds.create(scope, label, expires)
    emit(render_new_feed(created, fmt))


@feed.command("list")
@FORMAT
@click.pass_context
def feed_list(ctx: click.Context, fmt: Format) -> None:
    """List the feeds (never their tokens): scope, state, last use, fetches."""
    from planner.cli.render import render_feeds

    emit(render_feeds(open_planner(ctx).feeds.list(), fmt))


@feed.command("revoke")
@click.argument("feed_id", metavar="ID", type=click.IntRange(1))
@click.pass_context
def feed_revoke(ctx: click.Context, feed_id: int) -> None:
    """Stop a feed for good: its path answers 404 from now on."""
    revoked = open_planner(ctx).feeds.revoke(feed_id)
    emit(f"feed {revoked.id} ({revoked.scope.to_string()}) revoked")


@feed.command("rotate")
@click.argument("feed_id", metavar="ID", type=click.IntRange(1))
@SECRET_FORMAT
@click.pass_context
def feed_rotate(ctx: click.Context, feed_id: int, fmt: Literal["table", "json"]) -> None:
    """Give a feed a new secret path; the old one answers 404 from now on."""
    from planner.cli.render import render_new_feed

    emit(render_new_feed(open_planner(ctx).feeds.rotate(feed_id), fmt))
