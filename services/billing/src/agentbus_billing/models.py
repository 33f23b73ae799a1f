"""Tables of the billing service, all in schema ``billing``."""

from agentbus_shared.db import outbox_table, processed_events_table, schema_metadata

SCHEMA = "billing"
metadata = schema_metadata(SCHEMA)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
