"""SQLAlchemy Core storage that runs unchanged on SQLite and PostgreSQL."""
