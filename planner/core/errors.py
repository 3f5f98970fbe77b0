"""Errors that reach people.

Every error the planner raises on purpose is a :class:`PlannerError`. Its
message is one sentence that names the thing that is wrong; the command line
prints it on one line and exits with :attr:`PlannerError.exit_code`.
Errors caused by the user's input also subclass :class:`ValueError`, so a
caller who does not know this library can still catch them.
"""

from __future__ import annotations

from collections.abc import Sequence


class PlannerError(Exception):
    """Base of every error the planner raises on purpose."""

    exit_code = 1


class InputError(PlannerError, ValueError):
    """The user's input is wrong: a usage or validation error (exit 2)."""

    exit_code = 2


class NotFound(InputError):
    """An id, code or file that names nothing."""


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
            )
        )


class ScheduleError(InputError):
    """A schedule cannot be computed (for example a date out of range)."""


class StaleData(PlannerError):
    """Somebody else changed the row since it was read (exit 1)."""


class SchemaError(PlannerError):
    """The database schema is not the one this version of planner expects."""
