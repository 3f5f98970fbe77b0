"""Pages from Jinja2 templates (``planner/server/templates``), always
autoescaped: a participant code or protocol title holding ``<script>`` is
shown as text. Pages that show data are never cached.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from planner.core.visits import VisitRecord, occurrence_text

#: Pages show people's schedules: no copy is kept by browsers or proxies.
NO_STORE = {"Cache-Control": "no-store"}


def path_part(text: str) -> str:
    """A participant code or visit id as one URL path segment."""
    return quote(text, safe="")


def days_text(days: int, word: str) -> str:
    """``last day``, ``1 day left``, ``3 days late``."""
    if word == "left" and days == 0:
        return "last day"
    return f"{days} day{'s' if days != 1 else ''} {word}"


def when(record: VisitRecord) -> str:
    """``2026-04-20`` or ``2026-04-20 09:00``."""
    return (
        f"{record.target.isoformat()} {record.time}" if record.time else record.target.isoformat()
    )


def which(record: VisitRecord) -> str:
    """``2/3``: which occurrence of how many."""
    return occurrence_text(record.occurrence, record.count, record.event)


def weekday(day: date) -> str:
    return day.strftime("%a %d %b")


ENV = Environment(
    loader=PackageLoader("planner.server", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["path_part"] = path_part
ENV.filters["days_text"] = days_text
ENV.filters["when"] = when
ENV.filters["weekday"] = weekday
ENV.filters["which"] = which


def page(
    request: Request,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The template with ``context`` (and the request), as a response."""
    context.setdefault("visitor", None)
    context.setdefault("notice", None)
    context.setdefault("error", None)
    html = ENV.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status, headers={**NO_STORE, **(headers or {})})
