"""Accounts created by single sign-on, for people the provider vouches for and nobody here knows.

An account made here has the provider's verified email and an unusable random password (the
person may set one with "forgot password"). It joins the provider's ``tenant_id`` with its
``default_role`` when the operator named one, else it gets a tenant of its own as its owner, as
registration gives.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import new_token
from agentbus_auth.errors import SsoEmailUnverified, SsoNoAccount
from agentbus_auth.events import emit
from agentbus_auth.passwords.hasher import PasswordHasher
from agentbus_auth.settings import SsoProviderSettings
from agentbus_auth.sso.oidc import OidcIdentity
from agentbus_auth.tenants import repository as tenants_repo
from agentbus_shared.contracts.auth import UserRegistered
from agentbus_shared.contracts.common import RequestMeta, Role
from agentbus_shared.contracts.tenants import MemberChanged, TenantCreated
from agentbus_shared.ids import new_id
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

TENANT_NAME_LENGTH = 100


class SsoProvisioning:
    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher

    async def create_account(
        self,
        session: AsyncSession,
        provider: SsoProviderSettings,
        identity: OidcIdentity,
        meta: RequestMeta,
    ) -> str:
        """A new active account for ``identity`` and its membership; its id.
        ``SsoEmailUnverified`` unless the provider vouched for an email."""
        email = identity.email
        if email is None or not identity.email_verified:
            raise SsoEmailUnverified()
        user_id = new_id("usr")
        # A random password nobody knows: the account signs in through the provider.
        password_hash = await self._hasher.hash(new_token("sso"))
        await accounts_repo.add(
            session,
            user_id=user_id,
            email=email,
            display_name=identity.name,
            password_hash=password_hash,
            status="active",
            email_verified=True,
        )
        if provider.tenant_id is None:
            named = identity.name or email.partition("@")[0]
            tenant_id = await self._own_tenant(session, user_id, named)
        else:
            tenant_id = await self._join(session, provider, provider.tenant_id, user_id)
        await emit(
            session,
            UserRegistered(
                user_id=user_id,
                tenant_id=tenant_id,
                email=email,
                display_name=identity.name,
            ),
            tenant_id=tenant_id,
        )
        await record(
            session,
            AuditKind.USER_REGISTERED,
            user_id=user_id,
            tenant_id=tenant_id,
            meta=meta,
            pending=False,
            sso_provider=provider.id,
        )
        return user_id

    async def _own_tenant(self, session: AsyncSession, user_id: str, name: str) -> str:
        tenant = await tenants_repo.add_tenant(
            session, tenant_id=new_id("t"), name=name[:TENANT_NAME_LENGTH]
        )
        await tenants_repo.add_member(session, tenant.id, user_id, Role.OWNER)
        await emit(
            session,
            TenantCreated(
                tenant_id=tenant.id,
                name=tenant.name,
                owner_user_id=user_id,
                created_at=tenant.created_at,
            ),
            tenant_id=tenant.id,
        )
        return tenant.id

    async def _join(
        self, session: AsyncSession, provider: SsoProviderSettings, tenant_id: str, user_id: str
    ) -> str:
        if await tenants_repo.tenant(session, tenant_id) is None:
            log.error("sso.tenant_missing", provider=provider.id, tenant_id=tenant_id)
            raise SsoNoAccount()
        await tenants_repo.add_member(session, tenant_id, user_id, provider.default_role)
        await emit(
            session,
            MemberChanged(
                tenant_id=tenant_id,
                user_id=user_id,
                role=provider.default_role,
                changed_by=user_id,
            ),
            tenant_id=tenant_id,
        )
        return tenant_id
