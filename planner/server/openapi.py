"""The OpenAPI 3.1 description of the JSON API (``/api/v1/openapi.json``).

Its schemas are the rows' keys (:mod:`planner.app.rows`): a visit as
``VisitRecord.to_json()`` gives it, a participant as
``ParticipantInfo.to_json()``. tests/test_web_api.py validates the document
and every answer against it.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
DATE: Schema = {"type": "string", "format": "date"}
OPTIONAL_DATE: Schema = {"type": ["string", "null"], "format": "date"}
INTEGER: Schema = {"type": "integer"}

VISIT_PROPERTIES: dict[str, Schema] = {
    "visit_id": {**STRING, "description": "PARTICIPANT/EVENT/N, e.g. WUH-001/INF/2"},
    "participant": STRING,
    "site": STRING,
    "protocol": STRING,
    "protocol_version": INTEGER,
    "arm": STRING,
    "event": STRING,
    "label": STRING,
    "kind": STRING,
    "contact": STRING,
    "setting": STRING,
    "occurrence": {**INTEGER, "minimum": 1},
    "count": INTEGER,
    "study_day": INTEGER,
    "ideal": DATE,
    "target": DATE,
    "window_start": DATE,
    "window_end": DATE,
    "time": {"type": ["string", "null"], "description": "HH:MM local time, or null"},
    "duration_minutes": {"type": ["integer", "null"]},
    "timezone": STRING,
    "status": {"enum": ["scheduled", "completed", "missed", "cancelled"]},
    "actual": OPTIONAL_DATE,
    "deviation": {"type": "boolean"},
    "revision": INTEGER,
    "uid": {**STRING, "description": "the iCalendar UID, stable forever"},
}

PARTICIPANT_PROPERTIES: dict[str, Schema] = {
    "participant": STRING,
    "site": STRING,
    "protocol": STRING,
    "protocol_version": INTEGER,
    "arm": STRING,
    "day1": DATE,
    "status": {"enum": ["on-study", "withdrawn", "died", "finished"]},
    "status_date": OPTIONAL_DATE,
    "next_visit": {"type": ["string", "null"]},
    "next_target": OPTIONAL_DATE,
    "completed": INTEGER,
    "missed": INTEGER,
    "cancelled": INTEGER,
    "scheduled": INTEGER,
}

CHANGE: Schema = {"type": ["object", "null"], "description": "Fields before or after the change"}
AUDIT_PROPERTIES: dict[str, Schema] = {
    "at": {**STRING, "description": "When, UTC (ISO 8601 with Z)"},
    "actor": STRING,
    "action": STRING,
    "participant": {"type": ["string", "null"]},
    "visit": {"type": ["string", "null"]},
    "before": CHANGE,
    "after": CHANGE,
    "reason": {"type": ["string", "null"]},
}


def _object(properties: dict[str, Schema]) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _parameter(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PARAMETERS: dict[str, Schema] = {
    "site": _parameter("site", STRING, "A site code; outside the user's sites the answer is []."),
    "as_of": _parameter("as_of", DATE, "The day to judge on (default: today at each site)."),
    "from": _parameter("from", DATE, "The first day (default: today at each site)."),
    "days": _parameter(
        "days", {**INTEGER, "minimum": 1, "maximum": 3660, "default": 14}, "How many days."
    ),
    "protocol": _parameter("protocol", STRING, "A protocol id."),
    "arm": _parameter("arm", STRING, "An arm code."),
    "kind": _parameter("kind", STRING, "A kind of visit (infusion, visit, call...)."),
    "code": {
        "name": "code",
        "in": "path",
        "required": True,
        "schema": STRING,
        "description": "A participant code of the user's sites.",
    },
    "participant": _parameter("participant", STRING, "A participant code of the user's sites."),
    "audit_from": {**_parameter("from", DATE, "The first UTC day."), "name": "from"},
    "audit_to": _parameter("to", DATE, "The last UTC day."),
    "status": _parameter(
        "status",
        {"enum": ["on-study", "withdrawn", "died", "finished"]},
        "A participation status.",
    ),
}


def _operation(
    summary: str, names: tuple[str, ...], schema: str, *, operation: str | None = None
) -> Schema:
    found: Schema = {
        "get": {
            "summary": summary,
            "operationId": operation or schema[0].lower() + schema[1:],
            "parameters": [{"$ref": f"#/components/parameters/{name}"} for name in names],
            "responses": {
                "200": {
                    "description": "The rows of the command line's --format json.",
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                    },
                },
                "400": {"$ref": "#/components/responses/BadRequest"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    }
    if "code" in names or "participant" in names:
        found["get"]["responses"]["404"] = {"$ref": "#/components/responses/NotFound"}
    return found


def _list(item: str) -> Schema:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}


def document() -> Schema:
    """The whole description, as a JSON-ready dictionary."""
    error = _object({"error": STRING, "field": {"type": ["string", "null"]}})
    judged = ("site", "as_of", "protocol", "arm", "kind")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "planner API",
            "version": "1",
            "description": "Visits and participants of the caller's sites, as the command "
            "line's --format json prints them.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/v1/due": _operation(
                "Visits due on a day, soonest to close first", judged, "DueList"
            ),
            "/api/v1/overdue": _operation("Visits whose window has ended", judged, "OverdueList"),
            "/api/v1/upcoming": _operation(
                "Scheduled visits in the next days",
                ("site", "from", "days", "protocol", "arm", "kind"),
                "VisitList",
            ),
            "/api/v1/participants": _operation(
                "Participants with status and next visit",
                ("site", "protocol", "status"),
                "ParticipantList",
            ),
            "/api/v1/participants/{code}/schedule": _operation(
                "Every visit of one participant",
                ("code",),
                "VisitList",
                operation="schedule",
            ),
            "/api/v1/audit": _operation(
                "The audit trail of the user's participants, oldest first",
                ("participant", "audit_from", "audit_to"),
                "AuditList",
            ),
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "planner user token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "planner_session"},
            },
            "parameters": PARAMETERS,
            "responses": {
                "BadRequest": {
                    "description": "A parameter is wrong; the sentence names it.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "NotFound": {
                    "description": "No such participant among the user's sites.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "Unauthorized": {
                    "description": "No valid token or session.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
            "schemas": {
                "Visit": _object(VISIT_PROPERTIES),
                "DueVisit": _object({**VISIT_PROPERTIES, "days_left": {**INTEGER, "minimum": 0}}),
                "OverdueVisit": _object(
                    {**VISIT_PROPERTIES, "days_overdue": {**INTEGER, "minimum": 1}}
                ),
                "Participant": _object(PARTICIPANT_PROPERTIES),
                "VisitList": _list("Visit"),
                "DueList": _list("DueVisit"),
                "OverdueList": _list("OverdueVisit"),
                "ParticipantList": _list("Participant"),
                "AuditEntry": _object(AUDIT_PROPERTIES),
                "AuditList": _list("AuditEntry"),
                "Error": error,
            },
        },
    }
