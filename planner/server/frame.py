"""What every response gets, whatever answered it (feeds, pages, the API,
errors): security headers, and one line in the access log with the feed's
secret path redacted.

The frame wraps the whole application, so 404s, 405s and 500s get the same
headers as feeds. The access log never shows a path under ``/feeds/`` (however
written: ``//feeds/``, ``/FEEDS/``), a segment that could be a token, nor any
query string: ``127.0.0.1 "GET /feeds/[redacted] HTTP/1.1" 200 7131 1.2ms``
(:func:`planner.core.feeds.redact`).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from planner.core.errors import DatabaseBusy
from planner.core.feeds import redact
from planner.core.texts import printable

ACCESS_LOG = logging.getLogger("planner.access")

#: The pages run no script at all and load styles and images from this
#: server only; no other site may frame them (clickjacking), forms post here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

#: On every response. ``no-referrer``: a page opened from a calendar event
#: never learns the feed's secret address.
HEADERS = (
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

Scope = dict[str, Any]
Message = dict[str, Any]


def setup_access_log(enabled: bool) -> None:
    """Access lines on stderr (once per process), or none at all."""
    ACCESS_LOG.disabled = not enabled
    ACCESS_LOG.propagate = False
    if enabled and not ACCESS_LOG.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        ACCESS_LOG.addHandler(handler)
        ACCESS_LOG.setLevel(logging.INFO)


def access_line(scope: Scope, status: int, size: int, seconds: float) -> str:
    client = scope.get("client") or ("-", 0)
    version = scope.get("http_version", "1.1")
    # Escaped: a path is the caller's text (%0A would start a forged line, %1B drive
    # the terminal of whoever reads the log); a quote would end the request early.
    path = printable(redact(scope.get("path", ""))).replace('"', "\\x22")
    request = f"{printable(str(scope.get('method', '-')))} {path} HTTP/{version}"
    return f'{client[0]} "{request}" {status} {size} {seconds * 1000:.1f}ms'


class Frame:
    """ASGI middleware: the headers of :data:`HEADERS`, and the access log."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        seen = {"status": 500, "size": 0}

        async def framed(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                message["headers"] = [*message.get("headers", ()), *HEADERS]
            elif message["type"] == "http.response.body":
                seen["size"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, framed)
        except DatabaseBusy:
            if seen["status"] != 503:  # not answered as such: a real failure
                raise
            # Answered 503 (server_error); Starlette raises it again after answering,
            # which would print a traceback for a busy database.
        finally:
            if not ACCESS_LOG.disabled:
                elapsed = time.perf_counter() - start
                ACCESS_LOG.info(access_line(scope, seen["status"], seen["size"], elapsed))
