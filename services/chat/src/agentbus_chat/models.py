"""Tables of the chat service, all in schema ``chat``."""

from agentbus_shared.db import outbox_table, processed_events_table, schema_metadata

SCHEMA = "chat"
metadata = schema_metadata(SCHEMA)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
