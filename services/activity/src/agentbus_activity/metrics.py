"""Prometheus metrics of the activity service (labels: event kinds and outcomes only)."""

from __future__ import annotations

from prometheus_client import Counter

EVENTS_PROJECTED = Counter(
    "agentbus_activity_events_projected_total",
    "Events that became feed items, by event kind and path (live or rebuild).",
    ["kind", "path"],
)
EVENTS_SKIPPED = Counter(
    "agentbus_activity_events_skipped_total",
    "Events the feed left out, by event kind and reason (unknown: a kind it does not know yet; "
    "not_in_feed: known and left out by design; no_tenant: platform-wide; expired: older than "
    "the retention; tenant_deleted: of a tenant whose data was deleted).",
    ["kind", "reason"],
)
ITEMS_EXPIRED = Counter(
    "agentbus_activity_items_expired_total", "Feed items the retention sweep deleted."
)
