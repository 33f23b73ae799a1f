"""JetStream streams and KV buckets, each declared by exactly one owner.

``agentbus streams apply`` (and each owner at start-up) creates or updates the
owner's streams; every other process binds to them with ``declare=False`` and
never rewrites them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

DAY = 24 * 3600.0


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    owner: str
    description: str
    max_age: float = 30 * DAY
    duplicate_window: float = 2 * 60.0
    max_bytes: int = -1
    deny_delete: bool = False
    deny_purge: bool = False
    replicas: int = 1
    writers: tuple[str, ...] = ()
    """Who publishes to its subjects, when not (only) its owner."""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def written_by(self) -> tuple[str, ...]:
        return self.writers or (self.owner,)

    def with_replicas(self, replicas: int) -> StreamSpec:
        return replace(self, replicas=replicas)

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            description=self.description,
            subjects=list(self.subjects),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=self.max_age,
            max_bytes=self.max_bytes,
            duplicate_window=self.duplicate_window,
            num_replicas=self.replicas,
            deny_delete=self.deny_delete,
            deny_purge=self.deny_purge,
            allow_direct=True,
        )


@dataclass(frozen=True)
class BucketSpec:
    name: str
    owner: str
    description: str
    history: int = 1
    ttl: float | None = None
    replicas: int = 1
    readers: tuple[str, ...] = ()
    """Services that read it besides its owner (the bus permissions grant them reads only)."""

    @property
    def stream_name(self) -> str:
        """The stream JetStream keeps the bucket in."""
        return f"KV_{self.name}"

    def with_replicas(self, replicas: int) -> BucketSpec:
        return replace(self, replicas=replicas)

    def config(self) -> KeyValueConfig:
        return KeyValueConfig(
            bucket=self.name,
            description=self.description,
            history=self.history,
            ttl=self.ttl,
            storage=StorageType.FILE,
            replicas=self.replicas,
        )


AUTH_EVENTS = StreamSpec(
    name="AUTH_EVENTS",
    subjects=("events.auth.>",),
    owner="auth",
    description="Domain events of the auth service (tenants, users, sessions, mail requests).",
    duplicate_window=DAY,
)
CHAT_EVENTS = StreamSpec(
    name="CHAT_EVENTS",
    subjects=("events.chat.>",),
    owner="chat",
    description="Domain events of the chat service (usage records, conversation changes).",
    duplicate_window=DAY,
)
BILLING_EVENTS = StreamSpec(
    name="BILLING_EVENTS",
    subjects=("events.billing.>",),
    owner="billing",
    description="Domain events of the billing service (subscriptions, invoices, usage thresholds).",
    duplicate_window=DAY,
)
ACTIVITY_EVENTS = StreamSpec(
    name="ACTIVITY_EVENTS",
    subjects=("events.activity.>",),
    owner="activity",
    description="Domain events of the activity service (its part of a tenant's deprovisioning).",
    duplicate_window=DAY,
)
STRIPE_WEBHOOKS = StreamSpec(
    name="STRIPE_WEBHOOKS",
    subjects=("stripe.webhooks.>",),
    owner="billing",
    description="Raw Stripe webhook events as received by the gateway; Nats-Msg-Id = Stripe event id.",
    max_age=35 * DAY,
    duplicate_window=3 * DAY,
    deny_delete=True,
    deny_purge=True,
    writers=("gateway",),
)
DEAD_LETTERS = StreamSpec(
    name="DEAD_LETTERS",
    subjects=("dlq.>", "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>"),
    owner="platform",
    description="Messages no consumer could process, with the error; and max-delivery advisories.",
    duplicate_window=DAY,
)

ENTITLEMENTS = BucketSpec(
    name="ENTITLEMENTS",
    owner="billing",
    description="Per-tenant plan limits, usage so far and features; key = tenant id.",
    history=1,
    readers=("chat", "auth", "gateway"),
)

STREAMS: tuple[StreamSpec, ...] = (
    AUTH_EVENTS,
    CHAT_EVENTS,
    BILLING_EVENTS,
    ACTIVITY_EVENTS,
    STRIPE_WEBHOOKS,
    DEAD_LETTERS,
)
BUCKETS: tuple[BucketSpec, ...] = (ENTITLEMENTS,)


def streams_owned_by(owner: str) -> tuple[StreamSpec, ...]:
    return tuple(s for s in STREAMS if s.owner == owner)


def buckets_owned_by(owner: str) -> tuple[BucketSpec, ...]:
    return tuple(b for b in BUCKETS if b.owner == owner)
