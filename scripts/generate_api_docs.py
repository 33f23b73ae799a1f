"""Generate the checked-in API documents from code: `uv run task docs` (or this script).

- ``docs/asyncapi/<service>.json``: each service's AsyncAPI 3.0 document, from its
  broker as built (not connected), with the events and frames it publishes.
- ``docs/openapi/gateway.json``: the gateway's OpenAPI document (the public HTTP API).
- ``web/src/api/schema.d.ts``: the web app's typed API client schema, from that document
  (openapi-typescript, through the web app's toolchain: installs its packages when needed).

``--check`` writes nothing and exits 1 when a checked-in document differs from
a freshly generated one (``tests/contract/test_api_docs.py`` does the same).
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from agentbus_shared import apidocs
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.activity import ActivityItem
from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.chat import StreamFrame
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.webapp import WebApp

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "uv run task docs"

# Fixed settings: the documents must not depend on the environment they are generated in.
_SETTINGS: dict[str, Any] = {"_env_file": None, "nats_url": apidocs.DOCUMENTED_SERVER}

DESCRIPTIONS = {
    "auth": "Identity, tenants, sessions and tokens: rpc.auth.v1.* and events.auth.*.",
    "chat": "Agents, conversations and streamed runs: rpc.chat.v1.*, streams.chat.*, "
    "events.chat.*.",
    "billing": "Plans, subscriptions, Stripe webhooks, usage and entitlements: rpc.billing.v1.*, "
    "events.billing.*, the ENTITLEMENTS bucket.",
    "activity": "Each tenant's activity feed, projected from every service's events: "
    "rpc.activity.v1.*, activity.feed.* (new items, core pub/sub), events.activity.*.",
    "gateway": "The public edge: consumes session revocations, publishes verified Stripe "
    "webhooks to STRIPE_WEBHOOKS, and calls every service's public operations.",
}


def extra_publications(service: str) -> list[apidocs.Publication]:
    """What a service publishes besides its domain events."""
    if service == "chat":
        return [
            apidocs.Publication(
                subject="streams.chat.{stream_id}",
                payload=StreamFrame,
                title="chat.stream.frame",
                description="One frame of a streamed run (core pub/sub; the gateway relays it "
                "as SSE): conversation first, exactly one final or error last.",
            )
        ]
    if service == "billing":
        return [
            apidocs.Publication(
                subject=f"$KV.{ENTITLEMENTS.name}.{{tenant_id}}",
                payload=Entitlements,
                title="billing.entitlements.kv",
                description=ENTITLEMENTS.description,
            )
        ]
    if service == "activity":
        return [
            apidocs.Publication(
                subject="activity.feed.{tenant_id}.{audience}",
                payload=ActivityItem,
                title="activity.feed.item",
                description="A new feed item (core pub/sub; the gateway relays it as SSE): "
                "audience members or admins, and activity.feed.{tenant_id}.user.{user_id} for "
                "an admins item about one user.",
            )
        ]
    if service == "gateway":
        return [
            apidocs.Publication(
                subject=subjects.stripe_webhook("{event_type}"),
                payload=dict[str, Any],
                title="stripe.webhook",
                description="A Stripe event whose signature the gateway verified, as received; "
                "Nats-Msg-Id = the Stripe event id.",
            )
        ]
    return []


def build_runtimes() -> dict[str, ServiceRuntime]:
    """Every service's process as built, not connected (imports each service)."""
    from agentbus_activity.app import build as build_activity
    from agentbus_activity.settings import ActivitySettings
    from agentbus_auth.app import build as build_auth
    from agentbus_auth.settings import AuthSettings
    from agentbus_billing.app import build as build_billing
    from agentbus_billing.settings import BillingSettings
    from agentbus_chat.app import build as build_chat
    from agentbus_chat.settings import ChatSettings

    return {
        "auth": build_auth(AuthSettings(**_SETTINGS), configure_process=False),
        "billing": build_billing(BillingSettings(**_SETTINGS), configure_process=False),
        "chat": build_chat(ChatSettings(**_SETTINGS), configure_process=False),
        "activity": build_activity(ActivitySettings(**_SETTINGS), configure_process=False),
        "gateway": _gateway_app().state.runtime,
    }


def _gateway_app() -> Any:
    from agentbus_gateway.app import create_app
    from agentbus_gateway.settings import GatewaySettings

    return create_app(GatewaySettings(**_SETTINGS), configure_process=False)


def generate(root: Path = ROOT) -> dict[Path, str]:
    """Every document, by its path under the repository root."""
    documents: dict[Path, str] = {}
    for service, runtime in build_runtimes().items():
        document = apidocs.asyncapi_document(
            runtime,
            title=f"Agentbus {service}",
            version=version(f"agentbus-{service}"),
            description=DESCRIPTIONS[service],
            publications=[
                *apidocs.event_publications(service),
                *extra_publications(service),
            ],
        )
        documents[Path("docs/asyncapi") / f"{service}.json"] = apidocs.render(document)
    openapi = apidocs.render(_gateway_app().openapi())
    documents[Path("docs/openapi/gateway.json")] = openapi
    documents[Path("web/src/api/schema.d.ts")] = WebApp(root / "web").api_types(openapi)
    return documents


def drifted(documents: dict[Path, str], root: Path = ROOT) -> list[Path]:
    """The documents whose checked-in copy is missing or differs."""
    return [
        path
        for path, text in documents.items()
        if not (root / path).exists() or (root / path).read_text() != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a document drifted")
    args = parser.parse_args(argv)
    documents = generate()
    if args.check:
        stale = drifted(documents)
        for path in stale:
            print(f"{path} differs from the code; run `{COMMAND}`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in documents.items():
        target = ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
