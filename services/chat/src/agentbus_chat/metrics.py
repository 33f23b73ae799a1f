"""Prometheus metrics of the chat service (labels: agent names from the catalog and outcomes only)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from agentbus_shared.metrics import LATENCY_BUCKETS

RUNS = Counter(
    "agentbus_chat_runs_total",
    "Chat runs finished, by final agent and outcome (completed, cancelled, failed, interrupted).",
    ["agent", "outcome"],
)
RUN_SECONDS = Histogram(
    "agentbus_chat_run_seconds",
    "Wall time of a chat run, from accepted to its terminal frame.",
    ["outcome"],
    buckets=(*LATENCY_BUCKETS, 60.0, 120.0, 300.0),
)
FIRST_DELTA_SECONDS = Histogram(
    "agentbus_chat_first_delta_seconds",
    "Time from an accepted run to its first text delta.",
    buckets=LATENCY_BUCKETS,
)
RUN_TOKENS = Counter(
    "agentbus_chat_tokens_total",
    "Model tokens used by chat runs, by direction (input, output).",
    ["direction"],
)
LIVE_RUNS = Gauge("agentbus_chat_live_runs", "Chat runs in progress on this replica.")
REFUSED = Counter(
    "agentbus_chat_refused_total",
    "Chat requests refused before any model call, by reason code.",
    ["code"],
)
