"""The ASGI application: routes, start-up and a graceful stop.

Routes: the calendar feeds and ``/healthz`` (:mod:`planner.server.feeds`), the
JSON API (:mod:`planner.server.api`) and the coordinators' pages
(:mod:`planner.server.web`).

``create_app()`` with no arguments opens the database of ``PLANNER_DB`` (what
``planner serve`` sets for its workers); ``PLANNER_ACCESS_LOG=0`` turns the
access log off. At start each worker opens the database; at stop (SIGTERM
or Ctrl-C: uvicorn finishes the requests under way first) it writes the
fetch counts it still holds and closes the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from planner.app import Clock, FeedCache, Planner
from planner.server import api, web
from planner.server.caching import GzipCache
from planner.server.feeds import feed, healthz, method_not_allowed, not_found, server_error
from planner.server.frame import Frame, setup_access_log
from planner.server.hits import FLUSH_SECONDS, HitCounter

ACTOR = "planner serve"
LOG = logging.getLogger("planner.server")


class ServerState:
    """What one worker process holds: the database, rendered calendars, counts."""

    def __init__(self, db: str | None, clock: Clock | None) -> None:
        self.db = db
        self.clock = clock
        self.cache = FeedCache()
        self.gzip = GzipCache()
        self.hits = HitCounter()
        self._planner: Planner | None = None

    @property
    def planner(self) -> Planner:
        if self._planner is None:
            raise RuntimeError("the server has not started")
        return self._planner

    def flush(self) -> None:
        """Write the fetch counts held; keep them if the database refuses."""
        hits = self.hits.take()
        try:
            self.planner.feeds.record_hits(hits)
        except Exception as error:  # retried at the next flush; never fatal
            self.hits.put_back(hits)
            LOG.warning("fetch counts not written yet: %s", type(error).__name__)

    async def flush_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await run_in_threadpool(self.flush)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        self._planner = Planner(self.db, actor=ACTOR, clock=self.clock)
        # What start-up made lives as long as the worker: out of the collector's
        # sight, full collections stay short (and so do the pauses they add).
        gc.collect()
        gc.freeze()
        task = asyncio.create_task(self.flush_every(FLUSH_SECONDS))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await run_in_threadpool(self.flush)
            self._planner.close()


def create_app(
    db: str | None = None, *, clock: Clock | None = None, access_log: bool | None = None
) -> Frame:
    """The application on a database (default: ``PLANNER_DB``, else planner.db)."""
    if access_log is None:
        access_log = os.environ.get("PLANNER_ACCESS_LOG", "1") != "0"
    setup_access_log(access_log)
    state = ServerState(db, clock)
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/feeds/{name}", feed, methods=["GET", "HEAD"]),
            *api.ROUTES,
            *web.routes(),
        ],
        exception_handlers={404: not_found, 405: method_not_allowed, Exception: server_error},
        lifespan=state.lifespan,
    )
    # "/feeds/" is the 404 of any other miss, never a redirect to the /feeds page.
    app.router.redirect_slashes = False
    app.state.server = state
    return Frame(app)
