"""The JSON API, ``/api/v1/...``: the answers of the command line's
``--format json`` for the same question, as one JSON array.

``GET /api/v1/due``, ``/overdue``, ``/upcoming`` and ``/participants`` take
the command line's options as query parameters (``site``, ``as_of``, ``from``,
``days``, ``protocol``, ``arm``, ``kind``, ``status``) and return exactly its
rows (:mod:`planner.app.rows`), restricted to the user's sites: a site
filter outside them gives ``[]``. ``/participants/{code}/schedule`` is
``planner schedule CODE --format json``, and ``/audit`` (``participant``,
``from``, ``to``: UTC days) ``planner audit --format json`` for the user's
participants; a participant of another site is 404, as one that does not
exist. Callers authenticate with
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

from planner.app.rows import Row, audit_rows, judged_rows, participant_rows, visit_rows
from planner.app.site_view import SiteView
from planner.core.errors import DatabaseBusy, InputError, NotFound, PlannerError
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


def schedule(view: SiteView, query: Query, code: str) -> list[Row]:
    params.only(query, ())
    return visit_rows(view.participant(code)[1])


def audit(view: SiteView, query: Query) -> list[Row]:
    params.only(query, ("participant", "from", "to"))
    first, last = params.day_range(query)
    return audit_rows(view.audit(params.text(query, "participant"), first, last))


async def visitor_of(request: Request) -> Visitor | None:
    """A bearer token when one is sent (and then only it), else the session."""
    if "authorization" in request.headers:
        return await token_visitor(request)
    return await session_visitor(request)


#: When to try again after a 503 (another program holds the database).
RETRY = {"Retry-After": "5"}


def _status(error: PlannerError) -> int:
    """404 for a participant asked for (not in the user's sites, or nobody);
    400 for any other wrong input, a filter naming nothing included."""
    if isinstance(error, NotFound) and error.field == "participant":
        return 404
    if isinstance(error, DatabaseBusy):
        return 503
    return 400 if isinstance(error, InputError) else 500


def answering(ask: Callable[..., list[Row]]) -> Callable[..., Any]:
    """An endpoint answering ``ask(view, query, **path_parameters)``."""

    async def endpoint(request: Request) -> Response:
        try:
            visitor = await visitor_of(request)
        except DatabaseBusy as error:
            return JSONResponse({"error": error.message, "field": error.field}, 503,
                                headers={**NO_STORE, **RETRY})  # fmt: skip
        if visitor is None:
            headers = {**NO_STORE, "WWW-Authenticate": 'Bearer realm="planner"'}
            return JSONResponse(UNAUTHORIZED, 401, headers=headers)
        try:
            query = params.single(request.query_params.multi_items())
            view = visitor.view(request)
            rows = await run_in_threadpool(ask, view, query, **request.path_params)
        except PlannerError as error:
            body = {"error": error.message, "field": error.field}
            status = _status(error)
            return JSONResponse(body, status, headers=NO_STORE | (RETRY if status == 503 else {}))
        return JSONResponse(rows, headers=NO_STORE)

    return endpoint


async def openapi(_: Request) -> Response:
    return JSONResponse(document())


ROUTES = [
    Route(f"{PREFIX}/due", answering(due), methods=["GET"]),
    Route(f"{PREFIX}/overdue", answering(overdue), methods=["GET"]),
    Route(f"{PREFIX}/upcoming", answering(upcoming), methods=["GET"]),
    Route(f"{PREFIX}/participants", answering(participants), methods=["GET"]),
    Route(f"{PREFIX}/participants/{{code}}/schedule", answering(schedule), methods=["GET"]),
    Route(f"{PREFIX}/audit", answering(audit), methods=["GET"]),
    Route(f"{PREFIX}/openapi.json", openapi, methods=["GET"]),
]
