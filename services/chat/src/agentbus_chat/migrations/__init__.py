"""Alembic tree of the chat service (schema ``chat``)."""
