"""Errors that reach people.

Every error the planner raises on purpose is a :class:`PlannerError`. Its
message is one sentence that names the thing that is wrong, in the words of
the domain: it never names a command-line option or a command, because the
same error reaches the command line, the feed server and the web page. The
fields say what the sentence says, as data, so that each interface can point
at its own input (``field="days"`` becomes ``--days`` on the command line and
the ``days`` form field on the web page) and choose its own status.

Errors caused by the user's input also subclass :class:`ValueError`, so a
caller who does not know this library can still catch them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class PlannerError(Exception):
    """Base of every error the planner raises on purpose.

    ``field`` names the input that is wrong (a parameter name of the
    application's use case: ``"days"``, ``"site"``, ``"visit"``...),
    ``value`` what was given, ``allowed`` the range or rule in words,
    ``choices`` the values that would have been accepted, ``subject`` the
    visit or participant concerned. All are optional.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        allowed: str | None = None,
        choices: Sequence[str] | None = None,
        subject: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.allowed = allowed
        self.choices = tuple(choices) if choices is not None else None
        self.subject = subject


class InputError(PlannerError, ValueError):
    """The user's input is wrong: a usage or validation error (exit 2)."""

    exit_code = 2


class NotFound(InputError):
    """An id, code or file that names nothing."""


class Conflict(InputError):
    """The request is valid but the records do not allow it now (a visit
    already completed, a participant already withdrawn...)."""


class ProtocolError(InputError):
    """A protocol file is invalid; carries every problem found.

    ``problems`` are ``(place, message)`` pairs, ``place`` being a path such as
    ``schedule[3].window.after`` (empty for the whole file).
    """

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(
            "; ".join(
                f"{source}: {place}: {message}" if place else f"{source}: {message}"
                for place, message in self.problems
            ),
            field="protocol",
            value=source,
        )


class ScheduleError(InputError):
    """A schedule cannot be computed (for example a date out of range)."""


class StaleData(PlannerError):
    """Somebody else changed the row since it was read (exit 1)."""


class SchemaError(PlannerError):
    """The database schema is not the one this version of planner expects."""


def out_of_range(
    field: str, value: int, low: int, high: int, what: str | None = None
) -> InputError:
    """``days must be between 1 and 3660, not 0``."""
    name = what or field.replace("_", " ")
    return InputError(
        f"{name} must be between {low} and {high}, not {value}",
        field=field,
        value=value,
        allowed=f"{low}..{high}",
    )


class DatabaseBusy(PlannerError):
    """Another program held the database longer than planner waits for it:
    nothing was done; trying again later may work (the server answers 503)."""


class DatabaseDamaged(PlannerError):
    """The database's file is damaged (corrupt pages, unreadable values): exit 1.

    The message says so and nothing more; a full check says what is wrong.
    """

    def __init__(self, message: str = "the database is damaged", **data: Any) -> None:
        super().__init__(message, field=data.pop("field", "integrity"), **data)
