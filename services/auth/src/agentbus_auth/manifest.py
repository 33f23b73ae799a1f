"""How the operator CLI and the dev stack see the auth service (data only, no imports)."""

from agentbus_shared.manifest import DEV_SECRET, ServiceManifest

MANIFEST = ServiceManifest(
    name="auth",
    module="agentbus_auth",
    default_port=8101,
    schema="auth",
    migrations="agentbus_auth.migrations",
    cli="agentbus_auth.cli:app",
    needs_redis=True,
    env={
        "AUTH_KEY_ENCRYPTION_KEY": DEV_SECRET,
        "AUTH_CODE_KEY": DEV_SECRET,
        "AUTH_MAIL_BACKEND": "file",
    },
)
