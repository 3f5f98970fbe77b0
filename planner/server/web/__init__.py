"""The coordinators' web page: server-rendered pages behind a login.

- :mod:`~planner.server.web.auth`: sessions, bearer tokens, cookies;
- :mod:`~planner.server.web.login`: ``/login`` and ``/logout``;
- :mod:`~planner.server.web.handlers`: login required, CSRF check, error pages;
- :mod:`~planner.server.web.pages`: Today, Upcoming, Participants;
- :mod:`~planner.server.web.participant`: one participant, and recording visits;
- :mod:`~planner.server.web.timeline`: the timeline picture (SVG);
- :mod:`~planner.server.web.feeds_page` and :mod:`~planner.server.web.audit_page`.

What a user may see and do is decided by :class:`planner.app.site_view.SiteView`.
The pages use no JavaScript; styles come from ``/static/``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from planner.server.web import audit_page, feeds_page, login, pages, participant


def routes() -> list[BaseRoute]:
    return [
        Route("/", pages.today, methods=["GET", "HEAD"]),
        Route("/login", login.show_login, methods=["GET", "HEAD"]),
        Route("/login", login.do_login, methods=["POST"]),
        Route("/logout", login.do_logout, methods=["POST"]),
        Route("/upcoming", pages.upcoming, methods=["GET", "HEAD"]),
        Route("/participants", pages.participants, methods=["GET", "HEAD"]),
        Route("/participants/{code}", participant.participant, methods=["GET", "HEAD"]),
        Route("/participants/{code}/{action}", participant.record, methods=["POST"]),
        # A form's address opened as a page (a bookmark, a tab reopened): its page.
        Route("/participants/{code}/{action}", participant.to_page, methods=["GET", "HEAD"]),
        Route("/feeds", feeds_page.feeds_page, methods=["GET", "HEAD"]),
        Route("/feeds", feeds_page.create_feed, methods=["POST"]),
        Route("/feeds/{feed:int}/revoke", feeds_page.revoke_feed, methods=["POST"]),
        Route("/feeds/{feed:int}/revoke", feeds_page.to_page, methods=["GET", "HEAD"]),
        Route("/audit", audit_page.audit, methods=["GET", "HEAD"]),
        Mount("/static", StaticFiles(packages=[("planner.server", "static")]), name="static"),
    ]
