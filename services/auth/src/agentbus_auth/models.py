"""Tables of the auth service, all in schema ``auth``."""

from agentbus_shared.db import outbox_table, processed_events_table, schema_metadata

SCHEMA = "auth"
metadata = schema_metadata(SCHEMA)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
