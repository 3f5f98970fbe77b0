"""Storage: SQLAlchemy models, the engine, migrations glue and queries."""
