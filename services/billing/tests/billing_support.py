"""Helpers of the billing tests (imported by the tests and conftest.py)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import stripe
from faststream.nats import NatsBroker
from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError
from sqlalchemy import Row, text

from agentbus_billing.settings import BillingSettings
from agentbus_shared.bus import EventPublisher, RpcClient, RpcReply
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.contracts.events import EventData, make_event
from agentbus_shared.contracts.streams import BUCKETS, ENTITLEMENTS, STREAMS
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.waiting import eventually
from agentbus_stripe_standin.server import Standin

WEBHOOK_SECRET = "whsec_test_agentbus"
STRIPE_KEY = "sk_test_agentbus"


@dataclass
class GatewayDouble:
    url: str
    received: list[dict[str, Any]]

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhooks/stripe"


def make_settings(*, tuning: dict[str, Any] | None = None, **overrides: Any) -> BillingSettings:
    quick: dict[str, Any] = {
        "webhook_backoff": "0.2,0.2,0.2",
        "webhook_max_deliver": 3,
        "meter_report_interval": 0.2,
        "entitlements_sync_interval": 0.5,
        "stripe_timeout": 5.0,
        "stripe_max_retries": 1,
    }
    return BillingSettings(**overrides).tuned(**(quick | (tuning or {})))


@dataclass
class StandinServer:
    url: str
    standin: Standin

    def reset(self, webhook_url: str | None) -> None:
        httpx.post(f"{self.url}/_standin/reset").raise_for_status()
        if webhook_url:
            httpx.post(
                f"{self.url}/_config/webhooks/agentbus",
                json={"url": webhook_url, "secret": WEBHOOK_SECRET},
            ).raise_for_status()

    async def complete_checkout(self, checkout_url: str) -> dict[str, Any]:
        session_id = checkout_url.rstrip("/").rsplit("/", 1)[-1]
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{self.url}/_standin/checkout/sessions/{session_id}/complete"
            )
        response.raise_for_status()
        return dict(response.json())

    async def meter_events(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.url}/_standin/meter_events")
        return list(response.json()["data"])

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            STRIPE_KEY, base_addresses={"api": self.url}, http_client=stripe.HTTPXClient()
        )


@dataclass
class RunningBilling:
    runtime: ServiceRuntime
    rpc: RpcClient
    publisher: EventPublisher

    async def sql(self, query: str, **params: Any) -> list[Row[Any]]:
        async with self.runtime.database.session() as session:
            return list((await session.execute(text(query), params)).all())

    async def call(
        self, operation: str, payload: Any = None, principal: Principal | None = None
    ) -> RpcReply:
        return await self.rpc.call("billing", operation, payload, principal=principal, timeout=15)

    async def publish_event(
        self, data: EventData, *, tenant_id: str, event_id: str | None = None
    ) -> None:
        event = make_event(data, tenant_id=tenant_id, event_id=event_id)
        await self.publisher.publish(event)

    async def publish_stripe(self, event: dict[str, Any], *, msg_id: str | None = None) -> Any:
        return await self.publisher.publish_raw(
            subjects.stripe_webhook(event["type"]),
            json.dumps(event).encode(),
            msg_id=msg_id or event["id"],
        )


def principal(tenant_id: str, *scopes: str, subject: str = "u_owner") -> Principal:
    return Principal(
        subject=subject,
        tenant_id=tenant_id,
        roles=("owner",),
        scopes=frozenset(scopes or (Scope.BILLING_READ, Scope.BILLING_MANAGE)),
    )


def service_account(tenant_id: str, *scopes: str) -> Principal:
    """A service account of ``tenant_id`` holding ``scopes``."""
    return Principal(
        kind="service_account", subject="sa_robot", tenant_id=tenant_id, scopes=frozenset(scopes)
    )


def stripe_event(
    event_type: str, obj: dict[str, Any], *, created: int, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{secrets.token_hex(8)}",
        "object": "event",
        "type": event_type,
        "created": created,
        "livemode": False,
        "api_version": "2026-10-28",
        "data": {"object": obj},
    }


async def declare_streams(js: JetStreamContext) -> None:
    """Every stream and bucket, as ``agentbus streams apply`` (and the dev stack) creates them."""
    await apply_streams(js, STREAMS)
    await apply_buckets(js, BUCKETS)


async def kv_entitlements(broker: NatsBroker, tenant_id: str) -> Entitlements | None:
    """The tenant's entitlements as the ENTITLEMENTS bucket holds them (None before the first)."""
    bucket = await broker.connection.jetstream().key_value(ENTITLEMENTS.name)
    try:
        entry = await bucket.get(tenant_id)
    except KeyNotFoundError:
        return None
    return Entitlements.model_validate_json(entry.value or b"")


async def consumer_drained(broker: NatsBroker, stream: str, durable: str) -> bool:
    """True once the durable consumer has acknowledged everything in its stream."""
    info = await broker.connection.jetstream().consumer_info(stream, durable)
    return bool(info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq)


def operator(tenant_id: str = "t_ops") -> Principal:
    return principal(tenant_id, Scope.PLATFORM_OPERATE, subject="u_operator")


BILLING_TABLES = (
    "customers",
    "subscriptions",
    "invoices",
    "stripe_events",
    "usage_records",
    "usage_counters",
    "usage_thresholds",
    "entitlements_pending",
    "plan_prices",
    "stripe_meters",
    "feature_overrides",
    "outbox",
    "processed_events",
)


async def snapshot(billing: RunningBilling) -> dict[str, str]:
    """Every row of every billing table, as text (to compare the database before and after)."""
    tables = {}
    for table in BILLING_TABLES:
        rows = await billing.sql(
            f"SELECT coalesce(json_agg(t ORDER BY t::text)::text, '[]') AS rows FROM billing.{table} t"
        )
        tables[table] = rows[0].rows
    return tables


async def quiet(billing: RunningBilling, broker: NatsBroker) -> None:
    """Wait until the service has consumed every webhook and published every outbox row."""

    async def settled() -> bool:
        pending = await billing.sql(
            "SELECT (SELECT count(*) FROM billing.outbox WHERE published_at IS NULL) "
            "+ (SELECT count(*) FROM billing.entitlements_pending) AS n"
        )
        return int(pending[0].n) == 0 and await consumer_drained(
            broker, "STRIPE_WEBHOOKS", "stripe-webhooks"
        )

    await eventually(settled, what="webhooks consumed and the outbox published")
