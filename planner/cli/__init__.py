"""The ``planner`` command: parse, call the application, print.

:mod:`planner.cli.root` holds the root group (``main``) and what every command uses;
each command group is a module that registers its commands on it when
imported here. Output goes through :mod:`planner.cli.render`, errors through
:mod:`planner.cli.errors`. ``docs/cli.md`` is generated from the help texts
(:mod:`planner.cli.reference`).
"""

from planner.cli import (
    audit,
    db,
    demo,
    enrol,
    export,
    feeds,
    protocols,
    queries,
    serve,
    sites,
    users,
    visits,
)
from planner.cli.root import main

#: The modules whose import registers commands on :func:`main`.
COMMAND_MODULES = (
    protocols,
    sites,
    enrol,
    queries,
    visits,
    audit,
    export,
    feeds,
    users,
    serve,
    db,
    demo,
)

__all__ = ["main"]
