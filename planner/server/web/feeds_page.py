"""``/feeds``: the calendar feeds of the user's sites, a form to create one and
a button to revoke one. A new feed's secret link is shown once, in the answer
to the form that created it, with a QR code to open it on a phone; it is not
stored anywhere in clear and no later page shows it again.
"""

from __future__ import annotations

from typing import Any

import segno
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from planner.app.site_feeds import SiteFeeds
from planner.app.site_view import SiteView
from planner.core.feeds import FeedScope
from planner.server import params
from planner.server.web.auth import Visitor
from planner.server.web.handlers import field, logged_in, optional, posted
from planner.server.web.templates import page


def qr_svg(link: str) -> Markup:
    """A QR code of a link, as inline SVG (no style attributes, no script)."""
    code = segno.make(link, error="m")
    svg = code.svg_inline(scale=4, title="QR code of the feed link", svgclass="qr", light="#fff")
    return Markup(svg)  # segno escapes the title; the link is only in the squares


def _data(feeds: SiteFeeds) -> dict[str, Any]:
    shown = feeds.shown()
    return {
        "feeds": shown,
        # The newest feed the page lists: the create form, sent twice, makes one.
        "newest": max((feed.id for feed in shown), default=0),
        "scopes": feeds.scopes(),
        "can_record": feeds.view.user.can_record,
        "created": None,
        "revoked": None,
    }


def _show(request: Request, visitor: Visitor, data: dict[str, Any], status: int = 200) -> Response:
    return page(request, "feeds.html", status, visitor=visitor, title="Calendar feeds", **data)


async def to_page(_: Request) -> Response:
    """A feed form's address opened as a page: 303 to the feeds page."""
    return RedirectResponse("/feeds", 303)


@logged_in
async def feeds_page(request: Request, visitor: Visitor) -> Response:
    data = await run_in_threadpool(_data, SiteFeeds(visitor.view(request)))
    return _show(request, visitor, data)


def _create(view: SiteView, form: FormData, base: str) -> dict[str, Any]:
    feeds = SiteFeeds(view)
    scope = FeedScope.from_string(field(form, "scope"))
    expires = params.day("expires", field(form, "expires"))
    shown = optional(form, "newest")  # None from a client that does not send it
    newest = None if shown is None else params.number("newest", shown, 0, 10**12)
    new = feeds.create(scope, field(form, "label"), expires, newest=newest)
    link = base.rstrip("/") + new.path
    webcal = "webcal://" + link.split("://", 1)[1]
    created = {"feed": new, "link": link, "webcal": webcal, "qr": qr_svg(link)}
    return {**_data(feeds), "created": created}


@posted
async def create_feed(request: Request, visitor: Visitor, form: FormData) -> Response:
    base = str(request.base_url)
    data = await run_in_threadpool(_create, visitor.view(request), form, base)
    return _show(request, visitor, data)


def _revoke(view: SiteView, feed_id: int) -> dict[str, Any]:
    feeds = SiteFeeds(view)
    feeds.revoke(feed_id)
    return {**_data(feeds), "revoked": feed_id}


@posted
async def revoke_feed(request: Request, visitor: Visitor, form: FormData) -> Response:
    feed_id: int = request.path_params["feed"]  # an int by the route's converter
    data = await run_in_threadpool(_revoke, visitor.view(request), feed_id)
    return _show(request, visitor, data)
