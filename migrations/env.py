"""Alembic environment for planner.

Used by ``planner db upgrade`` and by the tests, never with the application's
engine: migrations run with foreign keys OFF (a batch-mode table copy with
them on would cascade deletes), check ``PRAGMA foreign_key_check`` before
committing, and execute nothing before ``begin_transaction()``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from planner.store.engine import make_engine
from planner.store.models import Base, for_postgresql

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for_postgresql()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
            if broken:
                raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")


def run_migrations_offline() -> None:
    if (config.get_main_option("sqlalchemy.url") or "").startswith("postgresql"):
        for_postgresql()
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", foreign_keys=False)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
