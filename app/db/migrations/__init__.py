"""Alembic migrations of the service's tables (run through app.db.migrate)."""
