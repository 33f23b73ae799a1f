"""Prometheus metrics shared by every process, with bounded label values.

Labels name kinds of things (service, operation, outcome, route template),
never ids. :class:`BoundedLabel` folds anything outside a known set into
``other`` so a bad caller cannot grow the series count.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)


class BoundedLabel:
    """Maps label values to themselves when known, to ``other`` otherwise."""

    def __init__(self, allowed: Iterable[str], *, other: str = "other", limit: int = 200) -> None:
        self._allowed = set(allowed)
        self._other = other
        self._limit = limit

    def allow(self, value: str) -> None:
        if len(self._allowed) < self._limit:
            self._allowed.add(value)

    def __call__(self, value: str) -> str:
        return value if value in self._allowed else self._other


RPC_HANDLED = Counter(
    "agentbus_rpc_handled_total",
    "RPC requests handled by a service, by outcome (ok, client_error, server_error).",
    ["service", "operation", "outcome"],
)
RPC_HANDLE_SECONDS = Histogram(
    "agentbus_rpc_handle_seconds",
    "Time a service spent handling an RPC request.",
    ["service", "operation"],
    buckets=LATENCY_BUCKETS,
)
RPC_CALLS = Counter(
    "agentbus_rpc_calls_total",
    "RPC requests made by this process, by outcome (ok, error, no_responders, timeout).",
    ["target", "outcome"],
)
RPC_CALL_SECONDS = Histogram(
    "agentbus_rpc_call_seconds",
    "Round-trip time of RPC requests made by this process.",
    ["target"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "agentbus_events_published_total",
    "Events published to JetStream, by stream and whether JetStream saw a duplicate.",
    ["stream", "duplicate"],
)
EVENTS_CONSUMED = Counter(
    "agentbus_events_consumed_total",
    "Messages handled by a durable consumer, by outcome (ok, retry, dead_lettered, skipped).",
    ["consumer", "outcome"],
)
EVENT_HANDLE_SECONDS = Histogram(
    "agentbus_event_handle_seconds",
    "Time a consumer spent on one message.",
    ["consumer"],
    buckets=LATENCY_BUCKETS,
)
OUTBOX_PENDING = Gauge(
    "agentbus_outbox_pending",
    "Outbox rows not yet published, as seen by the last relay pass.",
    ["schema"],
)
OUTBOX_RELAYED = Counter(
    "agentbus_outbox_relayed_total",
    "Outbox rows published by the relay, by outcome (ok, error).",
    ["schema", "outcome"],
)


def render_latest() -> tuple[bytes, str]:
    """The Prometheus text exposition of this process's registry and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
