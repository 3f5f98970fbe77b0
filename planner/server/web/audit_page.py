"""``/audit``: the audit trail of the user's participants, newest first,
filtered by participant and by day (UTC, as stored)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from planner.app.rows import change_text
from planner.app.site_view import SiteView
from planner.server import params
from planner.server.web.auth import Visitor
from planner.server.web.handlers import logged_in
from planner.server.web.templates import page

#: Rows on one page; a filter narrows the rest.
SHOWN = 500


def _audit(view: SiteView, query: dict[str, str]) -> dict[str, Any]:
    participant = params.text(query, "participant")
    start, end = params.day_range(query)
    entries = view.audit(participant, start, end)
    newest = list(reversed(entries))[:SHOWN]
    rows = [(e, change_text(e.before, e.after)) for e in newest]
    chosen = {
        "participant": participant or "",
        "from": query.get("from", ""),
        "to": query.get("to", ""),
    }
    return {"rows": rows, "total": len(entries), "shown": SHOWN, "chosen": chosen}


@logged_in
async def audit(request: Request, visitor: Visitor) -> Response:
    query = dict(request.query_params)
    data = await run_in_threadpool(_audit, visitor.view(request), query)
    return page(request, "audit.html", visitor=visitor, title="Audit trail", **data)
