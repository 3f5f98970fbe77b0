"""The JSON API, ``/api/v1/...``: the answers of the command line's
``--format json`` for the same question, as one JSON array.

``GET /api/v1/due``, ``/overdue``, ``/upcoming`` and ``/participants`` take
the command line's options as query parameters (``site``, ``as_of``, ``from``,
``days``, ``protocol``, ``arm``, ``kind``, ``status``) and return exactly its
rows (:mod:`planner.app.rows`), restricted to the user's sites: a site
filter outside them gives ``[]``. Callers authenticate with
``Authorization: Bearer <token>`` (``planner user token``) or the page's
session cookie; without either the answer is 401. A wrong parameter is 400
with ``{"error": sentence, "field": name}``. ``/api/v1/openapi.json``
describes it all (:mod:`planner.server.openapi`) and needs no login: it holds
no data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from planner.app.rows import Row, judged_rows, participant_rows, visit_rows
from planner.app.site_view import SiteView
from planner.core.errors import InputError, PlannerError
from planner.server import params
from planner.server.openapi import document
from planner.server.web.auth import Visitor, session_visitor, token_visitor

PREFIX = "/api/v1"
NO_STORE = {"Cache-Control": "no-store"}
UNAUTHORIZED = {
    "error": "authentication required: send Authorization: Bearer <token>, or log in",
    "field": None,
}
MAX_DAYS = 3660

Query = dict[str, str]


def _judged_filters(query: Query) -> dict[str, Any]:
    params.only(query, ("site", "as_of", "protocol", "arm", "kind"))
    return {
        "as_of": params.day("as_of", query.get("as_of")),
        **{name: params.text(query, name) for name in ("site", "protocol", "arm", "kind")},
    }


def due(view: SiteView, query: Query) -> list[Row]:
    return judged_rows(view.due(**_judged_filters(query)), "days_left")


def overdue(view: SiteView, query: Query) -> list[Row]:
    return judged_rows(view.overdue(**_judged_filters(query)), "days_overdue")


def upcoming(view: SiteView, query: Query) -> list[Row]:
    params.only(query, ("site", "from", "days", "protocol", "arm", "kind"))
    start = params.day("from", query.get("from"))
    days = params.number("days", query.get("days", "14"), 1, MAX_DAYS)
    names = ("site", "protocol", "arm", "kind")
    return visit_rows(view.upcoming(start, days, **{n: params.text(query, n) for n in names}))


def participants(view: SiteView, query: Query) -> list[Row]:
    params.only(query, ("site", "protocol", "status"))
    names = ("site", "protocol", "status")
    return participant_rows(view.participants(**{n: params.text(query, n) for n in names}))


async def visitor_of(request: Request) -> Visitor | None:
    """A bearer token when one is sent (and then only it), else the session."""
    if "authorization" in request.headers:
        return await token_visitor(request)
    return await session_visitor(request)


def answering(ask: Callable[[SiteView, Query], list[Row]]) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        visitor = await visitor_of(request)
        if visitor is None:
            headers = {**NO_STORE, "WWW-Authenticate": 'Bearer realm="planner"'}
            return JSONResponse(UNAUTHORIZED, 401, headers=headers)
        try:
            query = params.single(request.query_params.multi_items())
            rows = await run_in_threadpool(ask, visitor.view(request), query)
        except PlannerError as error:
            body = {"error": error.message, "field": error.field}
            status = 400 if isinstance(error, InputError) else 500
            return JSONResponse(body, status, headers=NO_STORE)
        return JSONResponse(rows, headers=NO_STORE)

    return endpoint


async def openapi(_: Request) -> Response:
    return JSONResponse(document())


ROUTES = [
    Route(f"{PREFIX}/due", answering(due), methods=["GET"]),
    Route(f"{PREFIX}/overdue", answering(overdue), methods=["GET"]),
    Route(f"{PREFIX}/upcoming", answering(upcoming), methods=["GET"]),
    Route(f"{PREFIX}/participants", answering(participants), methods=["GET"]),
    Route(f"{PREFIX}/openapi.json", openapi, methods=["GET"]),
]
