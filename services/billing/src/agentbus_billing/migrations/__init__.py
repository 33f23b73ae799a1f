"""Alembic tree of the billing service (schema ``billing``)."""
