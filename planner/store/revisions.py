"""The schema's revisions (no imports: the command line's reading path checks
the schema without loading SQLAlchemy or Alembic)."""

#: The migrations, oldest first, and the newest. A test keeps them equal to the
#: scripts in ``migrations/``, so start-up needs no scan of those scripts.
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009")
HEAD = REVISIONS[-1]
