"""The single sign-on identities linked to one's own account: listed and unlinked.

Unlinking removes the link alone: the account, its sessions and its password stay (an account
single sign-on created has a password nobody knows; "forgot password" sets one). Signing in with
the provider again links anew only where a new person's account would be created or the provider
may link existing accounts.
"""

from __future__ import annotations

from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.errors import SsoIdentityNotFound
from agentbus_auth.settings import SsoProviderSettings
from agentbus_auth.sso import repository as repo
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.contracts.sso import SsoIdentities, SsoIdentity
from agentbus_shared.db import Database


class LinkedIdentities:
    def __init__(self, db: Database, providers: tuple[SsoProviderSettings, ...]) -> None:
        self._db = db
        self._names = {provider.id: provider.name for provider in providers}

    async def list(self, user_id: str) -> SsoIdentities:
        async with self._db.session() as session:
            linked = await repo.identities(session, user_id)
        return SsoIdentities(
            items=[
                SsoIdentity(
                    id=identity.id,
                    provider=identity.provider,
                    provider_name=self._names.get(identity.provider, identity.provider),
                    email=identity.email,
                    created_at=identity.created_at,
                    last_login_at=identity.last_login_at,
                )
                for identity in linked
            ]
        )

    async def unlink(self, principal: Principal, identity_id: str, meta: RequestMeta) -> None:
        """Remove one of the caller's links; ``SsoIdentityNotFound`` for any other id."""
        async with self._db.transaction() as session:
            provider = await repo.unlink(
                session, user_id=principal.user_id, identity_id=identity_id
            )
            if provider is None:
                raise SsoIdentityNotFound()
            await record(
                session,
                AuditKind.SSO_UNLINKED,
                user_id=principal.user_id,
                tenant_id=principal.tenant_id,
                meta=meta,
                provider=provider,
            )
