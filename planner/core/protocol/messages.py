"""Pydantic's validation errors in the words of a protocol file.

:func:`describe` turns one error of ``ValidationError.errors()`` into a
``(place, message)`` pair: the place is a path into the file
(``schedule[3].window.after``) and the message says what is wrong without
naming pydantic's types (``must be a whole number (got 'x')``, ``unknown key
(allowed: before, after)``).
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel

from planner.core.protocol.base import CODE_PATTERN, KIND_PATTERN, PROTOCOL_ID_PATTERN
from planner.core.protocol.model import StudyProtocol
from planner.core.protocol.timing import Anchor

#: Error types whose message already says what was given.
_NO_INPUT = frozenset({"value_error", "model_type", "dict_type", "too_long", "list_type"})

_PATTERNS = {
    CODE_PATTERN: "must be 1 to 32 letters, digits, '-' or '_', starting with a letter or digit",
    PROTOCOL_ID_PATTERN: (
        "must be 1 to 64 lower-case letters, digits, '.', '-' or '_', "
        "starting with a letter or digit"
    ),
    KIND_PATTERN: "must be one lower-case word of up to 32 letters and '-'",
}

#: Error types whose message does not depend on their context.
_SIMPLE = {
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be text in quotes",
    "list_type": "must be a list [ ... ]",
    "model_type": "must be a table { key = value, ... }",
    "dict_type": "must be a table { key = value, ... }",
}

_BOUNDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}


def describe(error: Any) -> tuple[str, str]:
    """One pydantic error as ``(place, message)``."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return _place(loc), f"unknown key{hint}"
    if kind == "missing":
        return _place(loc), "is required"
    message = _plain(kind, error.get("ctx") or {})
    if message is None:
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[0].lower() + message[1:]
        message = message.replace("input should be ", "must be ", 1)
    if kind not in _NO_INPUT and "input" in error:
        shown = repr(error["input"])
        if len(shown) <= 60:
            message += f" (got {shown})"
    return _place(loc), message


def _place(loc: tuple[int | str, ...]) -> str:
    place = ""
    for part in loc:
        if isinstance(part, int):
            place += f"[{part}]"
        else:
            place += f".{part}" if place else part
    return place


def _plain(kind: str, ctx: dict[str, Any]) -> str | None:
    """Pydantic's error types in the words of a protocol file, or None."""
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _bound(ctx)
    if kind in ("string_too_short", "too_short"):
        return _too_short(kind, ctx)
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "too_long":
        return f"has {ctx.get('actual_length')} items; at most {ctx.get('max_length')} are allowed"
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(ctx.get("pattern", ""), f"must match {ctx.get('pattern')}")
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}"
    return None


def _bound(ctx: dict[str, Any]) -> str:
    """``must be at least 1``, from the context of a comparison error."""
    bound = next(key for key in _BOUNDS if key in ctx)
    limit = ctx[bound]
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    return f"must be {_BOUNDS[bound]} {limit}"


def _too_short(kind: str, ctx: dict[str, Any]) -> str:
    least = ctx.get("min_length", 1)
    if least == 1:
        return "must not be empty"
    return f"needs at least {least} {'characters' if kind == 'string_too_short' else 'items'}"


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys a table at ``loc`` accepts, for 'unknown key' messages."""
    model: Any = StudyProtocol
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        model = _unwrap(field.annotation)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [name for name in model.model_fields if name != "kind" or model is not Anchor]


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is not None:
        args = [a for a in get_args(annotation) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        annotation = models[0] if models else args[0]
        if isinstance(annotation, type):
            break
    return annotation
