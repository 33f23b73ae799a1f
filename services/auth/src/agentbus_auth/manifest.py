"""How the operator CLI and the dev stack see the auth service (data only, no imports)."""

from agentbus_shared.manifest import ServiceManifest

MANIFEST = ServiceManifest(
    name="auth",
    module="agentbus_auth",
    default_port=8101,
    schema="auth",
    migrations="agentbus_auth.migrations",
)
