"""How the operator CLI and the dev stack see the chat service (data only, no imports)."""

from agentbus_shared.manifest import ServiceManifest

MANIFEST = ServiceManifest(
    name="chat",
    module="agentbus_chat",
    default_port=8103,
    schema="chat",
    migrations="agentbus_chat.migrations",
    needs_redis=True,
)
