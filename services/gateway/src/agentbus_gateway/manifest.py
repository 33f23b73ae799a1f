"""How the operator CLI and the dev stack see the gateway (data only, no imports)."""

from agentbus_shared.manifest import DEV_SECRET, ServiceManifest

MANIFEST = ServiceManifest(
    name="gateway",
    module="agentbus_gateway",
    default_port=8000,
    # 8000 faces the public: /metrics has a listener of its own (GATEWAY_METRICS_PORT).
    metrics_port=8100,
    needs_redis=True,
    # Billing's tooling signs test webhooks with the same generated secret.
    env={"STRIPE_WEBHOOK_SECRETS": DEV_SECRET},
)
