"""``planner serve``: one ASGI application (Starlette) for calendar feeds, the
coordinators' web page and the JSON API.

:func:`create_app` builds it; uvicorn runs it (``planner serve`` passes the
database in ``PLANNER_DB``, so that every worker process opens the same one).
Like the command line, the server talks to :mod:`planner.app` only: it turns
requests into calls of :class:`~planner.app.Planner` and results into HTTP.

- :mod:`planner.server.app`: the application, its routes, start and stop;
- :mod:`planner.server.feeds`: ``/feeds/<token>.ics`` and ``/healthz``;
- :mod:`planner.server.caching`: validators, 304s and gzip;
- :mod:`planner.server.frame`: headers on every response, the redacted access log;
- :mod:`planner.server.hits`: fetch counts, written to the database in batches;
- :mod:`planner.server.api` and :mod:`planner.server.openapi`: ``/api/v1/...``;
- :mod:`planner.server.params`: query and form values, checked;
- :mod:`planner.server.web`: the pages behind a login.
"""

from planner.server.app import create_app

__all__ = ["create_app"]
