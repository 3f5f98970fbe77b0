"""The routes: ``GET|HEAD /feeds/<token>.ics`` and ``GET|HEAD /healthz``.

A feed request that names no usable feed (a malformed path, an unknown,
revoked or expired token) gets exactly the response of a path that never
existed: :func:`not_found`. Database work runs in a worker thread, so a
calendar being rendered never holds up the other requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Match, Route

from planner.core.errors import DatabaseBusy
from planner.core.feeds import FEED_PREFIX, token_from_path
from planner.server.caching import (
    CACHE_CONTROL,
    MIN_GZIP_BYTES,
    accepts_gzip,
    gzip_etag,
    http_date,
    not_modified,
)

if TYPE_CHECKING:
    from planner.app import Published
    from planner.server.app import ServerState

CALENDAR_TYPE = "text/calendar; charset=utf-8"


#: Where the JSON API answers: its misses are JSON too.
API_PATHS = "/api/"


def not_found(request: Request | None = None, _: object = None) -> Response:
    """The one 404: the same status, body and headers for every miss (under
    ``/api/``, the same for every miss there, in JSON as every API answer)."""
    if request is not None and request.url.path.startswith(API_PATHS):
        body = {"error": f"no such API path: {request.url.path}", "field": None}
        return JSONResponse(body, 404, headers={"Cache-Control": "no-store"})
    return PlainTextResponse("Not Found\n", 404, headers={"Cache-Control": "no-store"})


def method_not_allowed(request: Request, _: object = None) -> Response:
    """405, with ``Allow`` listing the methods of every route of the path
    (``/login`` is two routes: GET and HEAD shows the form, POST logs in)."""
    allowed = {
        method
        for route in request.app.router.routes
        if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE
        for method in route.methods or ()
    }
    headers = {"Allow": ", ".join(sorted(allowed)), "Cache-Control": "no-store"}
    if request.url.path.startswith(API_PATHS):
        body = {"error": f"{request.method} is not allowed here: use {headers['Allow']}",
                "field": None}  # fmt: skip
        return JSONResponse(body, 405, headers=headers)
    return PlainTextResponse("Method Not Allowed\n", 405, headers=headers)


def server_error(request: Request, error: Exception) -> Response:
    """500, or 503 saying so while another program holds the database (a
    login waiting behind a long enrolment file); JSON under the API."""
    headers = {"Cache-Control": "no-store"}
    if not isinstance(error, DatabaseBusy):
        return PlainTextResponse("Internal Server Error\n", 500, headers=headers)
    headers["Retry-After"] = "5"
    if request.url.path.startswith(API_PATHS):
        return JSONResponse({"error": error.message, "field": error.field}, 503, headers=headers)
    return PlainTextResponse(error.message + "\n", 503, headers=headers)


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


async def healthz(request: Request) -> Response:
    """200 when the database answers, 503 otherwise."""
    server = state_of(request)
    healthy = await run_in_threadpool(server.planner.healthy)
    text, status = ("ok\n", 200) if healthy else ("database unreachable\n", 503)
    return PlainTextResponse(text, status, headers={"Cache-Control": "no-store"})


async def feed(request: Request) -> Response:
    token = token_from_path(FEED_PREFIX + request.path_params["name"])
    if token is None:
        return not_found()
    server = state_of(request)
    published = server.cache.recent(token)  # in memory: no thread, no database
    if published is None:
        published = await run_in_threadpool(server.planner.feeds.calendar, token, server.cache)
    if published is None:
        return not_found()
    now = server.planner.now()
    server.hits.add(published.feed_id, now)
    headers = request.headers
    gzipped = accepts_gzip(headers.get("accept-encoding", ""))
    gzipped = gzipped and len(published.calendar.body) >= MIN_GZIP_BYTES
    answer = _headers(published, gzipped)
    if not_modified(headers.get("if-none-match"), headers.get("if-modified-since"), published, now):
        return Response(status_code=304, headers=answer)
    return await _calendar(server, published, gzipped, answer)


def _headers(published: Published, gzipped: bool) -> dict[str, str]:
    calendar = published.calendar
    answer = {
        "ETag": gzip_etag(calendar.etag) if gzipped else calendar.etag,
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    if calendar.last_modified is not None:
        answer["Last-Modified"] = http_date(calendar.last_modified)
    return answer


async def _calendar(
    server: ServerState, published: Published, gzipped: bool, answer: dict[str, str]
) -> Response:
    """The calendar in full (uvicorn sends no body to a HEAD request)."""
    body = published.calendar.body
    if gzipped:
        body = await run_in_threadpool(server.gzip.compressed, published.calendar.etag, body)
        answer["Content-Encoding"] = "gzip"
    answer["Content-Type"] = CALENDAR_TYPE
    return Response(body, 200, headers=answer)
