"""Who is asking: the session cookie (pages and API) or a bearer token (API),
and the CSRF check every state-changing form passes first.

The session cookie is ``HttpOnly``, ``SameSite=Lax`` and, when the request
came over https, ``Secure``. "Over https" is the request's scheme: uvicorn
takes it from ``X-Forwarded-Proto`` only when the proxy's address is trusted
(``FORWARDED_ALLOW_IPS``, by default 127.0.0.1: a proxy on the same machine).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from planner.app.site_view import SiteView

if TYPE_CHECKING:
    from planner.app.users import UserInfo
    from planner.server.app import ServerState

SESSION_COOKIE = "planner_session"
#: The login form's own CSRF secret (before there is a session): a random
#: value in a cookie and in the form, which must agree (double submit).
LOGIN_COOKIE = "planner_login"
CSRF_FIELD = "csrf"


@dataclass(frozen=True, slots=True)
class Visitor:
    """A logged-in user; ``session_id`` is None when a bearer token was used."""

    user: UserInfo
    csrf: str
    session_id: str | None

    def view(self, request: Request) -> SiteView:
        return SiteView(state_of(request).planner, self.user)


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


def over_https(request: Request) -> bool:
    return request.url.scheme == "https"


async def session_visitor(request: Request) -> Visitor | None:
    """The user of the request's session cookie, or None."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    found = await run_in_threadpool(state_of(request).planner.users.session, session_id)
    if found is None or found.user.disabled:
        return None
    return Visitor(found.user, found.csrf, session_id)


async def token_visitor(request: Request) -> Visitor | None:
    """The user of an ``Authorization: Bearer`` token, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = await run_in_threadpool(state_of(request).planner.users.by_token, token.strip())
    if user is None or user.disabled:
        return None
    return Visitor(user, "", None)


def to_login(request: Request) -> Response:
    """303 to the login page, coming back here afterwards. A form sent after
    the session ended comes back to the page it was on (a form's address is
    not a page), and the login page says that nothing was saved."""
    if request.method == "POST":
        here, unsaved = page_of(request.url.path), "&unsaved=1"
    else:
        here, unsaved = (
            request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "",
        )
    return RedirectResponse(f"/login?next={quote(here, safe='')}{unsaved}", 303, headers=no_store())


def page_of(path: str) -> str:
    """The page a form posts from: ``/participants/P`` for ``/participants/P/miss``,
    ``/feeds`` for the feed forms, else the Today page."""
    parts = path.strip("/").split("/")
    if parts[0] == "participants" and len(parts) >= 2:
        return "/participants/" + parts[1]
    if parts[0] == "feeds":
        return "/feeds"
    return "/"


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (never ``//host``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def same_secret(expected: str, given: object) -> bool:
    """Whether a form's secret matches, in constant time (missing: no)."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def no_store() -> dict[str, str]:
    return {"Cache-Control": "no-store"}


def set_session_cookie(response: Response, request: Request, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        path="/",
        httponly=True,
        samesite="lax",
        secure=over_https(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=over_https(request)
    )
