"""``StripeApi``: every Stripe call the billing service makes, each one logged and measured.

Calls go through ``stripe.StripeClient`` (async, httpx) with the base URL from
settings, so a stand-in server can take Stripe's place. Transient failures
(connection errors, 429, 5xx, lock timeouts) are retried by the client with
exponential backoff; every write carries an idempotency key, so a retry (ours
or the client's) is applied once. The API key never reaches a log line.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import stripe
from prometheus_client import Counter, Histogram

from agentbus_billing.settings import BillingSettings
from agentbus_shared.errors import AgentbusError, BadRequest, ServiceUnavailable
from agentbus_shared.logging import get_logger
from agentbus_shared.metrics import LATENCY_BUCKETS

log = get_logger(__name__)

T = TypeVar("T")
StripeDict = dict[str, Any]

STRIPE_CALLS = Counter(
    "agentbus_billing_stripe_calls_total",
    "Calls to the Stripe API, by operation and outcome (ok, rejected, transient).",
    ["operation", "outcome"],
)
STRIPE_CALL_SECONDS = Histogram(
    "agentbus_billing_stripe_call_seconds",
    "Duration of Stripe API calls (retries included).",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)


class StripeUnavailable(ServiceUnavailable):
    """Stripe did not answer or failed on its side (after the client's retries)."""

    code = "stripe_unavailable"
    default_message = "The payment provider is unavailable; try again shortly."


class StripeNotConfigured(ServiceUnavailable):
    code = "stripe_not_configured"
    default_message = "Paid plans are not available: no payment provider is configured."


class StripeRejected(BadRequest):
    """Stripe refused the request (a 4xx other than 429): retrying will not help."""

    code = "stripe_rejected"
    default_message = "The payment provider refused the request."


class StripeNotFound(StripeRejected):
    code = "stripe_not_found"


def _outcome(error: stripe.StripeError) -> tuple[str, AgentbusError]:
    status = error.http_status or 0
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500:
        return "transient", StripeUnavailable(retry_after=2)
    if status == 404:
        return "rejected", StripeNotFound(
            "The payment provider does not know this object.",
            details={"stripe_code": error.code},
        )
    return "rejected", StripeRejected(details={"stripe_code": error.code, "status": status})


class StripeApi:
    """The Stripe operations of the billing service (objects come back as plain dicts)."""

    def __init__(self, client: stripe.StripeClient | None) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: BillingSettings) -> StripeApi:
        if settings.stripe_api_key is None:
            return cls(None)
        base = settings.stripe_api_base
        bases: dict[str, str] = {"api": base, "meter_events": base} if base else {}
        client = stripe.StripeClient(
            settings.stripe_api_key.get_secret_value(),
            base_addresses=bases,  # type: ignore[arg-type]
            max_network_retries=settings.tuning.stripe_max_retries,
            http_client=stripe.HTTPXClient(timeout=settings.tuning.stripe_timeout),
        )
        return cls(client)

    @property
    def configured(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            raise StripeNotConfigured()
        return self._client

    async def call(self, operation: str, request: Callable[[], Awaitable[Any]]) -> StripeDict:
        """Run one Stripe request; map its failure to ``StripeUnavailable`` or ``StripeRejected``."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            result = await request()
        except stripe.StripeError as exc:
            outcome, error = _outcome(exc)
            # A missing object is the caller's answer (setup creates what is missing), not a fault.
            report = log.info if isinstance(error, StripeNotFound) else log.warning
            report(
                "stripe.call_failed",
                operation=operation,
                outcome=outcome,
                http_status=exc.http_status,
                stripe_code=exc.code,
                stripe_request_id=exc.request_id,
            )
            raise error from exc
        finally:
            elapsed = time.perf_counter() - started
            STRIPE_CALLS.labels(operation, outcome).inc()
            STRIPE_CALL_SECONDS.labels(operation).observe(elapsed)
        log.info("stripe.call", operation=operation, seconds=round(elapsed, 4))
        return result.to_dict() if hasattr(result, "to_dict") else dict(result)

    # ------------------------------------------------------------ customers
    async def create_customer(self, tenant_id: str, *, name: str | None = None) -> StripeDict:
        params: dict[str, Any] = {"metadata": {"tenant_id": tenant_id}}
        if name:
            params["name"] = name
        return await self.call(
            "customers.create",
            lambda: self.client.v1.customers.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"agentbus-customer-{tenant_id}"},
            ),
        )

    # ------------------------------------------------------------ checkout and portal
    async def create_checkout_session(
        self,
        *,
        tenant_id: str,
        customer_id: str,
        price_id: str,
        plan: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> StripeDict:
        metadata = {"tenant_id": tenant_id, "plan": plan}
        params = {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": tenant_id,
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
        }
        return await self.call(
            "checkout.sessions.create",
            lambda: self.client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            ),
        )

    async def create_portal_session(
        self, *, customer_id: str, return_url: str, idempotency_key: str
    ) -> StripeDict:
        return await self.call(
            "billing_portal.sessions.create",
            lambda: self.client.v1.billing_portal.sessions.create_async(
                {"customer": customer_id, "return_url": return_url},
                {"idempotency_key": idempotency_key},
            ),
        )

    # ------------------------------------------------------------ subscriptions
    async def retrieve_subscription(self, subscription_id: str) -> StripeDict:
        return await self.call(
            "subscriptions.retrieve",
            lambda: self.client.v1.subscriptions.retrieve_async(subscription_id),
        )

    async def change_subscription_price(
        self, subscription: StripeDict, price_id: str, *, idempotency_key: str
    ) -> StripeDict:
        """Move the subscription's single item to ``price_id``, prorating the difference."""
        item_id = subscription["items"]["data"][0]["id"]
        params = {
            "items": [{"id": item_id, "price": price_id}],
            "proration_behavior": "create_prorations",
            "cancel_at_period_end": False,
        }
        return await self.call(
            "subscriptions.update",
            lambda: self.client.v1.subscriptions.update_async(
                subscription["id"],
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            ),
        )

    async def set_cancel_at_period_end(
        self, subscription_id: str, value: bool, *, idempotency_key: str
    ) -> StripeDict:
        return await self.call(
            "subscriptions.update",
            lambda: self.client.v1.subscriptions.update_async(
                subscription_id,
                {"cancel_at_period_end": value},
                {"idempotency_key": idempotency_key},
            ),
        )

    async def forget_tenant(self, subscription_id: str, *, idempotency_key: str) -> StripeDict:
        """Unset the subscription's ``tenant_id`` metadata: its later events name no tenant."""
        return await self.call(
            "subscriptions.update",
            lambda: self.client.v1.subscriptions.update_async(
                subscription_id,
                {"metadata": {"tenant_id": ""}},
                {"idempotency_key": idempotency_key},
            ),
        )

    async def cancel_subscription(
        self, subscription_id: str, *, idempotency_key: str
    ) -> StripeDict:
        return await self.call(
            "subscriptions.cancel",
            lambda: self.client.v1.subscriptions.cancel_async(
                subscription_id, None, {"idempotency_key": idempotency_key}
            ),
        )

    # ------------------------------------------------------------ metering
    async def report_meter_event(
        self, *, event_name: str, customer_id: str, value: int, identifier: str, timestamp: int
    ) -> StripeDict:
        params = {
            "event_name": event_name,
            "payload": {"stripe_customer_id": customer_id, "value": str(value)},
            "identifier": identifier,
            "timestamp": timestamp,
        }
        return await self.call(
            "billing.meter_events.create",
            lambda: self.client.v1.billing.meter_events.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"agentbus-meter-{identifier}"},
            ),
        )

    # ------------------------------------------------------------ catalog provisioning
    async def find_product(self, product_id: str) -> StripeDict | None:
        try:
            return await self.call(
                "products.retrieve", lambda: self.client.v1.products.retrieve_async(product_id)
            )
        except StripeNotFound:
            return None

    async def create_product(self, product_id: str, name: str, plan: str) -> StripeDict:
        return await self.call(
            "products.create",
            lambda: self.client.v1.products.create_async(
                {"id": product_id, "name": name, "metadata": {"plan": plan}},
                {"idempotency_key": f"agentbus-product-{product_id}"},
            ),
        )

    async def prices_by_lookup_key(self, lookup_key: str) -> list[StripeDict]:
        found = await self.call(
            "prices.list",
            lambda: self.client.v1.prices.list_async({"lookup_keys": [lookup_key], "active": True}),
        )
        return list(found.get("data") or [])

    async def create_price(
        self, *, product_id: str, lookup_key: str, unit_amount: int, currency: str, interval: str
    ) -> StripeDict:
        params = {
            "product": product_id,
            "unit_amount": unit_amount,
            "currency": currency,
            "recurring": {"interval": interval},
            "lookup_key": lookup_key,
            "transfer_lookup_key": True,
        }
        key = f"agentbus-price-{lookup_key}-{unit_amount}-{currency}-{interval}"
        return await self.call(
            "prices.create",
            lambda: self.client.v1.prices.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": key},
            ),
        )

    async def meters(self) -> list[StripeDict]:
        found = await self.call(
            "billing.meters.list",
            lambda: self.client.v1.billing.meters.list_async({"status": "active", "limit": 100}),
        )
        return list(found.get("data") or [])

    async def create_meter(self, *, event_name: str, display_name: str) -> StripeDict:
        params = {
            "display_name": display_name,
            "event_name": event_name,
            "default_aggregation": {"formula": "sum"},
            "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
            "value_settings": {"event_payload_key": "value"},
        }
        return await self.call(
            "billing.meters.create",
            lambda: self.client.v1.billing.meters.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"agentbus-meter-{event_name}"},
            ),
        )

    async def webhook_endpoints(self) -> list[StripeDict]:
        found = await self.call(
            "webhook_endpoints.list",
            lambda: self.client.v1.webhook_endpoints.list_async({"limit": 100}),
        )
        return list(found.get("data") or [])

    async def create_webhook_endpoint(self, url: str, events: list[str]) -> StripeDict:
        return await self.call(
            "webhook_endpoints.create",
            lambda: self.client.v1.webhook_endpoints.create_async(
                {"url": url, "enabled_events": events},  # type: ignore[typeddict-item]
                {"idempotency_key": f"agentbus-webhook-{url}"},
            ),
        )
