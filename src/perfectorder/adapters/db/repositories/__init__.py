"""SQLAlchemy Core implementations of the services' repository ports."""
