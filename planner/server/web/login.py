"""``GET|POST /login`` and ``POST /logout``.

The login form is protected against cross-site posting before any session
exists: ``GET /login`` puts one random value in a cookie and in the form, and
``POST /login`` needs both, equal. A successful login always starts a new
session (a session id planted before login is never reused) and ends the one
the browser had. Repeated failures are slowed down by the application
(``LoginRefused.retry_after``): the page answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from planner.core.users import LoginRefused
from planner.server.web.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    clear_session_cookie,
    no_store,
    over_https,
    safe_next,
    same_secret,
    session_visitor,
    set_session_cookie,
    state_of,
)
from planner.server.web.handlers import field, forbidden
from planner.server.web.templates import page

LOGIN_SECRET_BYTES = 32
#: How long a login form stays usable.
LOGIN_FORM_SECONDS = 3600


#: Said when a form arrived after its session ended.
UNSAVED = "Your session had ended, so nothing was saved: log in, then do it again."


def login_form(
    request: Request, target: str, status: int = 200, error: str | None = None, name: str = ""
) -> Response:
    """The form, with a new pre-session CSRF value in the cookie and the form."""
    secret = secrets.token_urlsafe(LOGIN_SECRET_BYTES)
    response = page(
        request,
        "login.html",
        status,
        title="Log in",
        csrf=secret,
        next=safe_next(target),
        error=error,
        name=name,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        secret,
        max_age=LOGIN_FORM_SECONDS,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=over_https(request),
    )
    return response


async def show_login(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if await session_visitor(request) is not None:
        return RedirectResponse(target, 303)
    unsaved = request.query_params.get("unsaved") == "1"
    return login_form(request, target, error=UNSAVED if unsaved else None)


async def do_login(request: Request) -> Response:
    form = await request.form()
    if not same_secret(request.cookies.get(LOGIN_COOKIE, ""), form.get("csrf")):
        return forbidden(request, None)
    target = field(form, "next")
    name = field(form, "username")
    password = form.get("password")
    if not name or not isinstance(password, str) or not password:
        return login_form(request, target, 400, "Give your user name and your password.", name)
    planner = state_of(request).planner
    try:
        started = await run_in_threadpool(planner.users.login, name, password)
    except LoginRefused as refused:
        status = 429 if refused.retry_after else 401
        response = login_form(request, target, status, refused.message, name)
        if refused.retry_after:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await run_in_threadpool(planner.users.logout, previous)
    response = RedirectResponse(safe_next(target), 303, headers=no_store())
    set_session_cookie(response, request, started.session_id)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


async def do_logout(request: Request) -> Response:
    """End the session (CSRF-checked, so no other site can log a user out)."""
    visitor = await session_visitor(request)
    response = RedirectResponse("/login", 303, headers=no_store())
    if visitor is None:
        clear_session_cookie(response, request)
        return response
    form = await request.form()
    if not same_secret(visitor.csrf, form.get("csrf")):
        return forbidden(request, visitor)
    assert visitor.session_id is not None
    await run_in_threadpool(state_of(request).planner.users.logout, visitor.session_id)
    clear_session_cookie(response, request)
    return response
