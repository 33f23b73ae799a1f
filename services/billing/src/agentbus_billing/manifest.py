"""How the operator CLI and the dev stack see the billing service (data only, no imports)."""

from agentbus_shared.manifest import ServiceManifest

MANIFEST = ServiceManifest(
    name="billing",
    module="agentbus_billing",
    default_port=8102,
    schema="billing",
    migrations="agentbus_billing.migrations",
)
