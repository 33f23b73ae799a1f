"""Async SQLAlchemy per schema: engine and transactions, outbox, idempotent consumers."""

from agentbus_shared.db.database import Database, after_commit, async_url, schema_metadata
from agentbus_shared.db.idempotency import processed_events_table, record_once
from agentbus_shared.db.outbox import Outbox, OutboxRelay, outbox_table

__all__ = [
    "Database",
    "Outbox",
    "OutboxRelay",
    "after_commit",
    "async_url",
    "outbox_table",
    "processed_events_table",
    "record_once",
    "schema_metadata",
]
