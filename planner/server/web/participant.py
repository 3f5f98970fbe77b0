"""One participant's page (``/participants/<code>``): status, timeline picture,
the visit table, and the forms that record what happened.

Every form posts to ``/participants/<code>/<action>`` with the CSRF token and
the visit's revision as the page showed it. The answer is the page again: with
what the change did (every visit re-planned, before and after) when it worked,
with the reason when it did not. A form holding an older revision than the
visit's changes nothing and says the visit was changed by someone else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from planner.app import Outcome
from planner.app.site_timeline import timeline
from planner.app.site_view import SiteView, unknown_visit
from planner.core.errors import InputError, NotFound, StaleData
from planner.core.visits import UNSCHEDULED, VisitId
from planner.server import params
from planner.server.web.auth import Visitor, page_of
from planner.server.web.handlers import field, logged_in, message_of, optional, posted
from planner.server.web.templates import page
from planner.server.web.timeline import pictures

MAX_REVISION = 10**9


@dataclass(frozen=True, slots=True)
class Done:
    """What a change did, in sentences: the change itself, then each re-plan."""

    lines: tuple[str, ...]
    changed: frozenset[str]


def done(outcome: Outcome) -> Done:
    lines = []
    for change in outcome.changes:
        before, after = change.before, change.after
        text = f"{change.visit}: {change.action}"
        if "target" in after and not before:  # added
            text += f", on {after['target']}"
        elif "target" in after and before.get("target") != after["target"]:
            text += f", {before.get('target', '-')} → {after['target']}"
        elif "window_start" in after and before:  # its day stays, its window moves
            text += (
                f", window {before.get('window_start')} to {before.get('window_end')} → "
                f"{after['window_start']} to {after.get('window_end', before.get('window_end'))}"
            )
        if after.get("actual"):
            text += f", on {after['actual']}"
        if change.deviation:
            text += " (outside its window: a protocol deviation)"
        lines.append(text)
    lines += list(outcome.warnings)
    return Done(tuple(lines), frozenset(c.visit for c in outcome.changes))


def _page_data(view: SiteView, code: str) -> dict[str, Any]:
    found = timeline(view, code)
    return {
        "info": found.info,
        "visits": found.visits,
        "pictures": pictures(found),
        "today": found.today,
        "kinds": view.kinds(),
        "can_record": view.user.can_record,
        "replanned": found.replanned,
        "protocol_title": found.title,
        # The N of the P/UNS/N the add form makes: sent twice, it adds one.
        "next_unscheduled": 1
        + max((v.occurrence for v in found.visits if v.event == UNSCHEDULED), default=0),
    }


def _show(request: Request, visitor: Visitor, data: dict[str, Any], status: int = 200) -> Response:
    title = f"Participant {data['info'].participant}"
    context = {"done": None, **data}
    return page(request, "participant.html", status, visitor=visitor, title=title, **context)


@logged_in
async def participant(request: Request, visitor: Visitor) -> Response:
    code = request.path_params["code"]
    data = await run_in_threadpool(_page_data, visitor.view(request), code)
    return _show(request, visitor, data)


async def to_page(request: Request) -> Response:
    """A form's address opened as a page: 303 to the participant's page."""
    return RedirectResponse(page_of(request.url.path), 303)


def _revision(form: FormData) -> int:
    return params.number("revision", field(form, "revision"), 0, MAX_REVISION)


def _visit_of(code: str, form: FormData) -> str:
    """The form's visit, which must be one of this page's participant."""
    visit = field(form, "visit")
    if VisitId.from_string(visit).participant != code:
        raise unknown_visit(visit)
    return visit


def _complete(view: SiteView, code: str, form: FormData) -> Outcome:
    on = params.required_day("on", field(form, "on"))
    return view.complete(_visit_of(code, form), on, _revision(form), optional(form, "reason"))


def _move(view: SiteView, code: str, form: FormData) -> Outcome:
    to = params.required_day("to", field(form, "to"))
    force = field(form, "force") == "yes"
    reason = optional(form, "reason")
    return view.move(_visit_of(code, form), to, _revision(form), reason=reason, force=force)


def _miss(view: SiteView, code: str, form: FormData) -> Outcome:
    return view.miss(_visit_of(code, form), _revision(form), optional(form, "reason"))


def _undo(view: SiteView, code: str, form: FormData) -> Outcome:
    return view.undo(_visit_of(code, form), _revision(form), field(form, "reason"))


def _add(view: SiteView, code: str, form: FormData) -> Outcome:
    on = params.required_day("on", field(form, "on"))
    label = field(form, "label")
    if not label:
        raise InputError("an unscheduled visit needs a label saying what it is", field="label")
    return view.add_visit(
        code,
        on,
        label,
        kind=field(form, "kind") or "visit",
        time=optional(form, "time"),
        reason=optional(form, "reason"),
        expected_number=_number(form),
    )


def _number(form: FormData) -> int | None:
    """The N of the P/UNS/N the add form showed (None from a client that sends none)."""
    shown = optional(form, "number")
    return None if shown is None else params.number("number", shown, 1, MAX_REVISION)


RECORDERS: dict[str, Callable[[SiteView, str, FormData], Outcome]] = {
    "complete": _complete,
    "move": _move,
    "miss": _miss,
    "undo": _undo,
    "add": _add,
}


def _record(view: SiteView, code: str, action: str, form: FormData) -> dict[str, Any]:
    """Make the change; the page data afterwards, with what happened or why not."""
    view.participant(code)  # another site's participant: 404 before anything else
    try:
        outcome = RECORDERS[action](view, code, form)
    except (NotFound, StaleData, InputError) as error:
        if isinstance(error, NotFound) and error.field in ("visit", "participant"):
            raise
        status = 409 if isinstance(error, StaleData) else 400
        return {**_page_data(view, code), "error": message_of(error), "status": status}
    return {**_page_data(view, code), "done": done(outcome), "status": 200}


@posted
async def record(request: Request, visitor: Visitor, form: FormData) -> Response:
    code, action = request.path_params["code"], request.path_params["action"]
    if action not in RECORDERS:
        raise NotFound(f"unknown action {action!r}", field="action", value=action)
    data = await run_in_threadpool(_record, visitor.view(request), code, action, form)
    status = data.pop("status")
    return _show(request, visitor, data, status)
