"""The stand-in server: localstripe's application with one middleware in front of it.

localstripe keeps customers, payment methods, plans, products, subscriptions
and invoices, and sends signed webhooks for them. The middleware adds what it
lacks, at the HTTP layer, keeping Stripe's request and response shapes:

- Prices (``/v1/prices``): each price is also a localstripe plan with the same
  id, so subscriptions on a price work; subscription requests naming
  ``items[][price]`` are translated, and subscription objects gain ``price``.
- ``customer.subscription.updated``: localstripe changes subscriptions
  silently; the middleware sends the event after every update.
- Billing Meters and meter events (deduplicated by ``identifier``).
- Checkout Sessions (``mode=subscription``) with a page to pay them, and
  ``POST /_standin/checkout/sessions/{id}/complete`` for tests and scripts:
  completing one creates the subscription (and its invoice) and sends
  ``checkout.session.completed``.
- Billing portal sessions, webhook endpoints (signed with the configured
  secret) and ``GET /_standin/meter_events`` to inspect reported usage.
"""

from __future__ import annotations

import asyncio
import html
import pickle
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from localstripe import resources as ls
from localstripe import server as ls_server
from localstripe.errors import UserError
from localstripe.webhooks import _webhooks, register_webhook, schedule_webhook

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]

TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


class CheckoutSession(ls.StripeObject):  # type: ignore[misc]
    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(self, **params: Any) -> None:
        super().__init__()
        self.mode = params.get("mode", "subscription")
        self.customer = params.get("customer")
        self.client_reference_id = params.get("client_reference_id")
        self.line_items = params.get("line_items") or []
        self.metadata = params.get("metadata") or {}
        self.subscription_data = params.get("subscription_data") or {}
        self.success_url = params.get("success_url")
        self.cancel_url = params.get("cancel_url")
        self.status = "open"
        self.payment_status = "unpaid"
        self.subscription: str | None = None
        self.url = ""


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(7)


@dataclass
class StandinState:
    """What the stand-in keeps beside localstripe's store."""

    public_url: str
    webhook_secret: str | None
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    meters: dict[str, dict[str, Any]] = field(default_factory=dict)
    meter_events: dict[str, dict[str, Any]] = field(default_factory=dict)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    portal_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def saved(self) -> dict[str, Any]:
        return {
            "prices": self.prices,
            "meters": self.meters,
            "meter_events": self.meter_events,
            "endpoints": self.endpoints,
            "portal_sessions": self.portal_sessions,
        }

    def restore(self, saved: dict[str, Any]) -> None:
        for name, value in saved.items():
            getattr(self, name).update(value)

    def reset(self) -> None:
        self.prices.clear()
        self.meters.clear()
        self.meter_events.clear()
        self.endpoints.clear()
        self.portal_sessions.clear()
        _webhooks.clear()
        ls.store.clear()


def _json(data: Any, status: int = 200) -> web.Response:
    response: web.Response = ls_server.json_response(data, status=status)
    return response


async def _params(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        return dict(ls_server.unflatten_data(request.query) or {})
    return dict(await ls_server.get_post_data(request) or {})


def _with_price(export: dict[str, Any], state: StandinState) -> dict[str, Any]:
    """Add ``price`` next to ``plan`` on each subscription item, as the current API shows it."""
    items = export.get("items")
    if isinstance(items, dict):
        for item in items.get("data", []):
            plan = item.get("plan") or {}
            price = state.prices.get(plan.get("id", ""))
            if price is not None:
                item["price"] = price
                item.setdefault("current_period_start", export.get("current_period_start"))
                item.setdefault("current_period_end", export.get("current_period_end"))
    return export


def _update_metadata(obj: Any, metadata: dict[str, Any]) -> None:
    """Stripe's metadata update: each key given is set, and a key given as "" is unset."""
    merged = {**(obj.metadata or {}), **metadata}
    obj.metadata = {key: value for key, value in merged.items() if value != ""}


def _items_on_plans(params: dict[str, Any]) -> dict[str, Any]:
    for item in params.get("items") or []:
        if isinstance(item, dict) and "price" in item:
            item["plan"] = item.pop("price")
    return params


class Standin:
    def __init__(self, state: StandinState) -> None:
        self.state = state
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        r = self._route
        r("POST", r"/v1/prices", self.create_price)
        r("GET", r"/v1/prices", self.list_prices)
        r("GET", r"/v1/prices/(?P<id>[\w]+)", self.get_price)
        r("POST", r"/v1/subscriptions", self.create_subscription)
        r("GET", r"/v1/subscriptions/(?P<id>sub_\w+)", self.get_subscription)
        r("POST", r"/v1/subscriptions/(?P<id>sub_\w+)", self.update_subscription)
        r("DELETE", r"/v1/subscriptions/(?P<id>sub_\w+)", self.cancel_subscription)
        r("POST", r"/v1/checkout/sessions", self.create_checkout)
        r("GET", r"/v1/checkout/sessions/(?P<id>cs_\w+)", self.get_checkout)
        r("POST", r"/v1/billing_portal/sessions", self.create_portal)
        r("POST", r"/v1/billing/meters", self.create_meter)
        r("GET", r"/v1/billing/meters", self.list_meters)
        r("POST", r"/v1/billing/meter_events", self.create_meter_event)
        r("POST", r"/v1/webhook_endpoints", self.create_endpoint)
        r("GET", r"/v1/webhook_endpoints", self.list_endpoints)
        r("GET", r"/checkout/(?P<id>cs_\w+)", self.checkout_page)
        r("POST", r"/checkout/(?P<id>cs_\w+)/pay", self.checkout_pay)
        r("GET", r"/portal/(?P<id>bps_\w+)", self.portal_page)
        r("POST", r"/_standin/checkout/sessions/(?P<id>cs_\w+)/complete", self.complete_checkout)
        r("GET", r"/_standin/meter_events", self.list_meter_events)
        r("POST", r"/_standin/reset", self.reset)
        r("GET", r"/_standin/health", self.health)

    def _route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        for method, pattern, own in self.routes:
            match = pattern.match(request.path)
            if match and request.method == method:
                if request.path.startswith("/v1/") and not ls_server.get_api_key(request):
                    return _json({"error": {"message": "Unauthorized", "type": "auth"}}, 401)
                try:
                    response = await own(request, match.groupdict())
                except UserError as exc:
                    return exc.to_response()  # type: ignore[no-any-return]
                if request.method != "GET":
                    ls.store.dump_to_disk()
                return response
        return await handler(request)

    # ------------------------------------------------------------ prices
    def _price(self, price_id: str) -> dict[str, Any]:
        price = self.state.prices.get(price_id)
        if price is None:
            raise UserError(404, "No such price")
        return price

    async def create_price(self, request: web.Request, _: dict[str, str]) -> web.Response:
        p = await _params(request)
        recurring = p.get("recurring") or {}
        lookup_key = p.get("lookup_key")
        if lookup_key and any(x["lookup_key"] == lookup_key for x in self.state.prices.values()):
            if str(p.get("transfer_lookup_key", "")).lower() != "true":
                raise UserError(400, "A price with this lookup_key already exists")
            for other in self.state.prices.values():
                if other["lookup_key"] == lookup_key:
                    other["lookup_key"] = None
        price_id = _id("price_")
        ls.Plan(
            id=price_id,
            amount=int(p.get("unit_amount", 0)),
            currency=p.get("currency", "usd"),
            interval=recurring.get("interval", "month"),
            product=p.get("product"),
        )
        price = {
            "id": price_id,
            "object": "price",
            "active": True,
            "created": int(time.time()),
            "currency": p.get("currency", "usd"),
            "unit_amount": int(p.get("unit_amount", 0)),
            "product": p.get("product"),
            "lookup_key": lookup_key,
            "nickname": p.get("nickname"),
            "metadata": p.get("metadata") or {},
            "recurring": {"interval": recurring.get("interval", "month"), "interval_count": 1},
            "type": "recurring",
            "livemode": False,
        }
        self.state.prices[price_id] = price
        return _json(price)

    async def list_prices(self, request: web.Request, _: dict[str, str]) -> web.Response:
        p = await _params(request)
        keys = p.get("lookup_keys")
        prices = list(self.state.prices.values())
        if keys:
            wanted = set(keys if isinstance(keys, list) else [keys])
            prices = [x for x in prices if x["lookup_key"] in wanted]
        return _json({"object": "list", "data": prices, "has_more": False, "url": "/v1/prices"})

    async def get_price(self, _: web.Request, match: dict[str, str]) -> web.Response:
        return _json(self._price(match["id"]))

    # ------------------------------------------------------------ subscriptions
    def _sub_export(self, sub: Any) -> dict[str, Any]:
        return _with_price(sub._export(), self.state)

    async def create_subscription(self, request: web.Request, _: dict[str, str]) -> web.Response:
        p = _items_on_plans(await _params(request))
        p.pop("expand", None)
        return _json(self._sub_export(ls.Subscription._api_create(**p)))

    async def get_subscription(self, _: web.Request, match: dict[str, str]) -> web.Response:
        return _json(self._sub_export(ls.Subscription._api_retrieve(match["id"])))

    async def update_subscription(
        self, request: web.Request, match: dict[str, str]
    ) -> web.Response:
        p = _items_on_plans(await _params(request))
        p.pop("expand", None)
        if p.pop("proration_behavior", None) == "none":
            p["prorate"] = False
        metadata = p.pop("metadata", None) or {}
        sub = ls.Subscription._api_update(match["id"], **p)
        _update_metadata(sub, metadata)
        schedule_webhook(ls.Event("customer.subscription.updated", sub))
        return _json(self._sub_export(sub))

    async def cancel_subscription(self, _: web.Request, match: dict[str, str]) -> web.Response:
        return _json(self._sub_export(ls.Subscription._api_delete(match["id"])))

    # ------------------------------------------------------------ checkout
    async def create_checkout(self, request: web.Request, _: dict[str, str]) -> web.Response:
        p = await _params(request)
        if p.get("mode") != "subscription":
            raise UserError(400, "The stand-in supports mode=subscription only")
        items = p.get("line_items") or []
        if len(items) != 1 or items[0].get("price") not in self.state.prices:
            raise UserError(400, "One line item with a known price is required")
        if not p.get("customer"):
            raise UserError(400, "customer is required")
        ls.Customer._api_retrieve(p["customer"])
        session = CheckoutSession(**p)
        session.url = f"{self.state.public_url}/checkout/{session.id}"
        return _json(session._export())

    async def get_checkout(self, _: web.Request, match: dict[str, str]) -> web.Response:
        return _json(CheckoutSession._api_retrieve(match["id"])._export())

    def complete(self, session_id: str) -> CheckoutSession:
        """Pay a session with a test card: subscription, invoice, then the webhooks."""
        session: CheckoutSession = CheckoutSession._api_retrieve(session_id)
        if session.status != "open":
            raise UserError(400, "This checkout session is not open")
        card = ls.PaymentMethod(type="card", card=dict(TEST_CARD))
        ls.PaymentMethod._api_attach(card.id, customer=session.customer)
        customer = ls.Customer._api_retrieve(session.customer)
        customer.invoice_settings["default_payment_method"] = card.id
        item = session.line_items[0]
        sub = ls.Subscription(
            customer=session.customer,
            items=[{"plan": item["price"], "quantity": int(item.get("quantity", 1))}],
            metadata=dict(session.subscription_data.get("metadata") or {}),
        )
        session.subscription = sub.id
        session.status = "complete"
        session.payment_status = "paid"
        schedule_webhook(ls.Event("checkout.session.completed", session))
        return session

    async def complete_checkout(self, _: web.Request, match: dict[str, str]) -> web.Response:
        return _json(self.complete(match["id"])._export())

    async def checkout_page(self, _: web.Request, match: dict[str, str]) -> web.Response:
        session = CheckoutSession._api_retrieve(match["id"])
        price = self._price(session.line_items[0]["price"])
        amount = f"{price['unit_amount'] / 100:.2f} {price['currency'].upper()}"
        body = (
            "<!doctype html><title>Checkout (Stripe stand-in)</title>"
            f"<h1>Subscribe: {html.escape(amount)} per {price['recurring']['interval']}</h1>"
            f"<p>Status: {html.escape(session.status)}</p>"
            f'<form method="post" action="/checkout/{session.id}/pay">'
            '<button type="submit">Pay with test card 4242</button></form>'
        )
        return web.Response(text=body, content_type="text/html")

    async def checkout_pay(self, _: web.Request, match: dict[str, str]) -> web.Response:
        session = self.complete(match["id"])
        raise web.HTTPSeeOther(session.success_url or "/")

    # ------------------------------------------------------------ portal
    async def create_portal(self, request: web.Request, _: dict[str, str]) -> web.Response:
        p = await _params(request)
        ls.Customer._api_retrieve(p.get("customer", ""))
        portal_id = _id("bps_")
        portal = {
            "id": portal_id,
            "object": "billing_portal.session",
            "customer": p["customer"],
            "return_url": p.get("return_url"),
            "url": f"{self.state.public_url}/portal/{portal_id}",
            "created": int(time.time()),
            "livemode": False,
        }
        self.state.portal_sessions[portal_id] = portal
        return _json(portal)

    async def portal_page(self, _: web.Request, match: dict[str, str]) -> web.Response:
        portal = self.state.portal_sessions.get(match["id"])
        if portal is None:
            raise UserError(404, "No such portal session")
        back = html.escape(portal["return_url"] or "/")
        body = f'<!doctype html><title>Billing portal</title><a href="{back}">Return</a>'
        return web.Response(text=body, content_type="text/html")

    # ------------------------------------------------------------ meters
    async def create_meter(self, request: web.Request, _: dict[str, str]) -> web.Response:
        p = await _params(request)
        name = p.get("event_name")
        if not name or any(m["event_name"] == name for m in self.state.meters.values()):
            raise UserError(400, "event_name is missing or already used by a meter")
        meter_id = _id("mtr_")
        meter = {
            "id": meter_id,
            "object": "billing.meter",
            "display_name": p.get("display_name"),
            "event_name": name,
            "status": "active",
            "default_aggregation": p.get("default_aggregation") or {"formula": "sum"},
            "customer_mapping": p.get("customer_mapping")
            or {"event_payload_key": "stripe_customer_id", "type": "by_id"},
            "value_settings": p.get("value_settings") or {"event_payload_key": "value"},
            "created": int(time.time()),
            "livemode": False,
        }
        self.state.meters[meter_id] = meter
        return _json(meter)

    async def list_meters(self, _: web.Request, __: dict[str, str]) -> web.Response:
        data = list(self.state.meters.values())
        return _json(
            {"object": "list", "data": data, "has_more": False, "url": "/v1/billing/meters"}
        )

    async def create_meter_event(self, request: web.Request, _: dict[str, str]) -> web.Response:
        p = await _params(request)
        name = p.get("event_name")
        if not any(m["event_name"] == name for m in self.state.meters.values()):
            raise UserError(400, f"No active meter has event_name {name!r}")
        payload = p.get("payload") or {}
        ls.Customer._api_retrieve(payload.get("stripe_customer_id", ""))
        identifier = p.get("identifier") or _id("mev_")
        existing = self.state.meter_events.get(identifier)
        if existing is not None:
            return _json(existing)
        event = {
            "object": "billing.meter_event",
            "event_name": name,
            "identifier": identifier,
            "payload": payload,
            "timestamp": int(p.get("timestamp") or time.time()),
            "created": int(time.time()),
            "livemode": False,
        }
        self.state.meter_events[identifier] = event
        return _json(event)

    async def list_meter_events(self, _: web.Request, __: dict[str, str]) -> web.Response:
        return _json({"data": list(self.state.meter_events.values())})

    # ------------------------------------------------------------ webhook endpoints
    async def create_endpoint(self, request: web.Request, _: dict[str, str]) -> web.Response:
        p = await _params(request)
        url = p.get("url")
        if not url or not str(url).startswith("http") or not self.state.webhook_secret:
            raise UserError(400, "url is required (and the stand-in needs a webhook secret)")
        events = p.get("enabled_events") or ["*"]
        endpoint_id = _id("we_")
        register_webhook(
            endpoint_id, url, self.state.webhook_secret, None if "*" in events else events
        )
        endpoint = {
            "id": endpoint_id,
            "object": "webhook_endpoint",
            "url": url,
            "enabled_events": events,
            "status": "enabled",
            "secret": self.state.webhook_secret,
            "created": int(time.time()),
            "livemode": False,
        }
        self.state.endpoints[endpoint_id] = endpoint
        return _json(endpoint)

    async def list_endpoints(self, _: web.Request, __: dict[str, str]) -> web.Response:
        data = [
            {k: v for k, v in e.items() if k != "secret"} for e in self.state.endpoints.values()
        ]
        return _json(
            {"object": "list", "data": data, "has_more": False, "url": "/v1/webhook_endpoints"}
        )

    # ------------------------------------------------------------ operations
    async def reset(self, _: web.Request, __: dict[str, str]) -> web.Response:
        self.state.reset()
        return _json({"reset": True})

    async def health(self, _: web.Request, __: dict[str, str]) -> web.Response:
        return _json({"status": "ok"})


_installed: Standin | None = None


def _keep_in(data_file: Path | None, state: StandinState) -> None:
    """Keep localstripe's store (and ours) in ``data_file``, or only in memory.

    localstripe pickles its store to a fixed path in /tmp on every change; that
    path is shared by every process on the machine, so it is replaced here.
    """
    if data_file is None:
        ls.store.dump_to_disk = lambda: None
        return

    def dump() -> None:
        temporary = data_file.with_suffix(".tmp")
        with temporary.open("wb") as out:
            pickle.dump((dict(ls.store), state.saved()), out, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(data_file)

    ls.store.dump_to_disk = dump
    if data_file.exists():
        with data_file.open("rb") as saved:
            objects, ours = pickle.load(saved)  # noqa: S301 - our own file under the dev var dir
        dict.update(ls.store, objects)
        state.restore(ours)


def build_app(
    *,
    public_url: str,
    webhook_secret: str | None,
    webhook_url: str | None = None,
    data_file: Path | None = None,
) -> tuple[web.Application, Standin]:
    """localstripe's application with the stand-in in front (once per process: it is global)."""
    global _installed  # noqa: PLW0603 - localstripe's application and store are process-wide
    if _installed is None:
        _installed = Standin(StandinState(public_url=public_url, webhook_secret=webhook_secret))
        ls_server.app.middlewares.insert(0, _installed.middleware)
    else:
        _installed.state.public_url = public_url
        _installed.state.webhook_secret = webhook_secret
    _keep_in(data_file, _installed.state)
    if webhook_url and webhook_secret:
        register_webhook("agentbus", webhook_url, webhook_secret, None)
    return ls_server.app, _installed


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def run(
    *,
    host: str,
    port: int,
    public_url: str,
    webhook_secret: str | None,
    webhook_url: str | None,
    data_file: Path | None,
) -> None:
    app, _ = build_app(
        public_url=public_url,
        webhook_secret=webhook_secret,
        webhook_url=webhook_url,
        data_file=data_file,
    )

    async def main() -> None:
        runner = await serve(app, host, port)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
