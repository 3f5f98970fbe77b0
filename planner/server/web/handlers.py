"""The frame of every page handler: the login it needs, the CSRF check of a
form, and the page an error becomes.

Without a session a page answers 303 to ``/login``; a form whose CSRF token is
missing or wrong answers 403 before anything is read or written. Errors carry
their own sentence (:mod:`planner.core.errors`): unknown things are 404, a
role that may not record 403, a stale form or a change the records do not
allow now (a visit already completed, a feed already revoked) 409, other bad
input 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from planner.app.site_view import NotPermitted
from planner.core.errors import (
    Conflict,
    DatabaseBusy,
    InputError,
    NotFound,
    PlannerError,
    StaleData,
)
from planner.server.web.auth import Visitor, same_secret, session_visitor, to_login
from planner.server.web.templates import page

PageHandler = Callable[[Request, Visitor], Awaitable[Response]]
FormHandler = Callable[[Request, Visitor, FormData], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]

#: What a person reads when a form carries an older revision of a visit.
STALE = (
    "{visit} was changed by someone else since you opened the page (or by this same form, "
    "sent again); nothing was saved. The page now shows it as it is: look at it again and retry."
)
FORBIDDEN = (
    "This form has expired or did not come from this site; nothing was saved. "
    "Reload the page and try again."
)


#: The status of each kind of error, the first that matches (409: changed or not possible now).
STATUSES: tuple[tuple[type[PlannerError] | tuple[type[PlannerError], ...], int], ...] = (
    (NotFound, 404), (NotPermitted, 403), ((StaleData, Conflict), 409), (InputError, 400),
    (DatabaseBusy, 503),
)  # fmt: skip


def status_of(error: PlannerError) -> int:
    return next((status for kind, status in STATUSES if isinstance(error, kind)), 500)


def message_of(error: PlannerError) -> str:
    if isinstance(error, StaleData) and error.field in (None, "revision"):  # a visit changed
        return STALE.format(visit=error.subject or "This visit")
    return error.message


def error_page(request: Request, visitor: Visitor | None, error: PlannerError) -> Response:
    status = status_of(error)
    title = {404: "Not found", 403: "Not allowed", 409: "Changed meanwhile"}.get(status, "Error")
    if isinstance(error, Conflict):
        title = "Not possible now"
    return page(
        request, "error.html", status, visitor=visitor, title=title, message=message_of(error)
    )


def logged_in(handler: PageHandler) -> Endpoint:
    """A page for logged-in users; errors become pages."""

    async def endpoint(request: Request) -> Response:
        visitor = await session_visitor(request)
        if visitor is None:
            return to_login(request)
        try:
            return await handler(request, visitor)
        except PlannerError as error:
            return error_page(request, visitor, error)

    return endpoint


def forbidden(request: Request, visitor: Visitor | None) -> Response:
    return page(request, "error.html", 403, visitor=visitor, title="Not allowed", message=FORBIDDEN)


def posted(handler: FormHandler) -> Endpoint:
    """A form post of a logged-in user, with the session's CSRF token."""

    async def endpoint(request: Request) -> Response:
        visitor = await session_visitor(request)
        if visitor is None:
            return to_login(request)
        form = await request.form()
        if not same_secret(visitor.csrf, form.get("csrf")):
            return forbidden(request, visitor)
        try:
            return await handler(request, visitor, form)
        except PlannerError as error:
            return error_page(request, visitor, error)

    return endpoint


def field(form: FormData, name: str) -> str:
    """A text field, trimmed ('' when absent or not text)."""
    value: Any = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    return field(form, name) or None
