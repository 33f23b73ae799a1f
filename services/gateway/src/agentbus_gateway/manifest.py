"""How the operator CLI and the dev stack see the gateway (data only, no imports)."""

from agentbus_shared.manifest import ServiceManifest

MANIFEST = ServiceManifest(
    name="gateway",
    module="agentbus_gateway",
    default_port=8000,
    needs_redis=True,
)
