"""Every NATS subject Agentbus uses, built in one place (DESIGN.md §2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SERVICES = ("gateway", "auth", "chat", "billing", "activity")

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")


def _token(value: str, what: str) -> str:
    # A subject token must not contain dots or wildcards, or a caller could widen a subscription.
    if not _TOKEN.match(value):
        raise ValueError(f"invalid {what} for a subject token: {value!r}")
    return value


def tenant_token(tenant_id: str) -> str:
    """``tenant_id`` when it is one subject token; ``ValueError`` otherwise."""
    return _token(tenant_id, "tenant id")


def rpc(service: str, operation: str) -> str:
    """``rpc.<service>.v1.<operation>``: core request-reply, queue group = service."""
    return f"rpc.{_token(service, 'service')}.v1.{operation}"


def rpc_prefix(service: str) -> str:
    return f"rpc.{_token(service, 'service')}.v1."


def inbox_prefix(service: str) -> str:
    """``_INBOX_<service>``: where a service's replies arrive (its RPC replies, JetStream API
    answers and pulled messages), so no other service can subscribe to them."""
    return f"_INBOX_{_token(service, 'service')}"


def inbox_of(service: str) -> str:
    """Every reply to ``service``: ``_INBOX_<service>.>``."""
    return f"{inbox_prefix(service)}.>"


def event(service: str, tenant_id: str, event_type: str) -> str:
    """``events.<service>.<tenant_id>.<event_type>`` (event_type may contain dots)."""
    return f"events.{_token(service, 'service')}.{_token(tenant_id, 'tenant id')}.{event_type}"


def events_of(service: str, event_type: str = ">", tenant_id: str = "*") -> str:
    """Filter subject for one service's events, e.g. ``events.auth.*.tenant.created``."""
    return f"events.{service}.{tenant_id}.{event_type}"


def chat_stream(stream_id: str) -> str:
    """``streams.chat.<stream_id>``: the frames of one chat run (core pub/sub)."""
    return f"streams.chat.{_token(stream_id, 'stream id')}"


def chat_run_alive(stream_id: str) -> str:
    """``chat.runs.<stream_id>.alive``: answered by the chat replica running that stream."""
    return f"chat.runs.{_token(stream_id, 'stream id')}.alive"


def chat_run_cancel(stream_id: str) -> str:
    """``chat.runs.<stream_id>.cancel``: heard only by the chat replica running that stream."""
    return f"chat.runs.{_token(stream_id, 'stream id')}.cancel"


CHAT_TENANT_RUNS_STOPS = "chat.runs.tenants.*.stop"
"""Every tenant's :func:`chat_tenant_runs_stop`, as each chat replica subscribes to them."""


def chat_tenant_runs_stop(tenant_id: str) -> str:
    """``chat.runs.tenants.<tenant_id>.stop``: every chat replica stops the tenant's live runs
    (its tenant was suspended; the body is the suspension's moment, ISO 8601)."""
    return f"chat.runs.tenants.{_token(tenant_id, 'tenant id')}.stop"


ActivityAudience = Literal["members", "admins"]


def activity_feed(tenant_id: str, audience: ActivityAudience) -> str:
    """``activity.feed.<tenant_id>.<audience>``: new feed items every member (``members``) or
    only the tenant's admins (``admins``) may see, for the gateway's live feed (core pub/sub)."""
    return f"activity.feed.{_token(tenant_id, 'tenant id')}.{audience}"


def activity_feed_of_user(tenant_id: str, user_id: str) -> str:
    """``activity.feed.<tenant_id>.user.<user_id>``: new items about one user that only the
    tenant's admins and that user may see (their own security events)."""
    return f"activity.feed.{_token(tenant_id, 'tenant id')}.user.{_token(user_id, 'user id')}"


def stripe_webhook(event_type: str) -> str:
    """``stripe.webhooks.<event_type>`` (Stripe types contain dots: ``invoice.paid``)."""
    return f"stripe.webhooks.{event_type}"


def dead_letter(service: str, consumer: str) -> str:
    return f"dlq.{_token(service, 'service')}.{_token(consumer, 'consumer')}"


def dead_letters_of(service: str) -> str:
    """Every dead letter of one service's consumers: ``dlq.<service>.>``."""
    return f"dlq.{_token(service, 'service')}.>"


@dataclass(frozen=True)
class CoreFlow:
    """Core (not JetStream) messages between services: who publishes and who subscribes."""

    subject: str
    publishers: tuple[str, ...]
    subscribers: tuple[str, ...]
    description: str


CORE_FLOWS: tuple[CoreFlow, ...] = (
    CoreFlow(
        "streams.chat.>",
        publishers=("chat",),
        subscribers=("gateway",),
        description="A chat run's frames, relayed by the gateway as server-sent events.",
    ),
    CoreFlow(
        "chat.runs.>",
        publishers=("chat",),
        subscribers=("chat",),
        description="Whether a run is alive, and its cancel, for the chat replica running it.",
    ),
    CoreFlow(
        events_of("billing"),
        publishers=(),
        subscribers=("gateway",),
        description="A tenant's billing events, relayed by the gateway as server-sent events "
        "(billing publishes them to its stream).",
    ),
    CoreFlow(
        "activity.feed.>",
        publishers=("activity",),
        subscribers=("gateway",),
        description="New activity feed items of a tenant, relayed by the gateway's live feed "
        "to the viewers who may see them.",
    ),
    CoreFlow(
        events_of("auth", "session.revoked"),
        publishers=(),
        subscribers=("gateway",),
        description="Revoked sessions, heard by every gateway replica (no queue group) to end "
        "the session's open streams at once (auth publishes them to its stream).",
    ),
    CoreFlow(
        events_of("auth", "tenant.suspended"),
        publishers=(),
        subscribers=("gateway",),
        description="Suspended tenants, heard by every gateway replica (no queue group) to end "
        "the tenant's open streams at once (auth publishes them to its stream).",
    ),
    CoreFlow(
        events_of("auth", "tenant.deprovision_requested"),
        publishers=(),
        subscribers=("gateway",),
        description="Tenants being deprovisioned, heard by every gateway replica (no queue "
        "group) to end the tenant's open streams at once (auth publishes them to its stream).",
    ),
)
"""The bus permissions (:mod:`agentbus_shared.bus.permissions`) grant exactly these."""


SYSTEM_TENANT = "system"
"""Tenant token for events that belong to no tenant (platform-wide)."""
