"""How the operator CLI and the dev stack see the activity service (data only, no imports)."""

from agentbus_shared.manifest import ServiceManifest

MANIFEST = ServiceManifest(
    name="activity",
    module="agentbus_activity",
    default_port=8104,
    schema="activity",
    migrations="agentbus_activity.migrations",
    cli="agentbus_activity.cli:app",
)
