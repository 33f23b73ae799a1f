"""Alembic tree of the activity service (schema ``activity``)."""
