"""Alembic tree of the auth service (schema ``auth``)."""
