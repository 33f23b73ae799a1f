"""Service accounts: created by a tenant's admins with a subset of their own scopes, secrets shown
once and stored hashed, tokens through the client-credentials grant, revocable at once.

A service account's tokens carry its id as ``sid``: revoking the account
publishes ``session.revoked`` for that id, so the gateway refuses its
outstanding tokens immediately, exactly as for a user's session. An account
lives no longer than its creator's right to manage service accounts: removing
the creator from the tenant, or demoting them below admin, revokes it too. Creating one needs the
tenant's features (billing's ``ENTITLEMENTS`` entry) to include ``service_accounts``.
"""

from __future__ import annotations

import builtins
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import new_token, same, token_hash
from agentbus_auth.errors import InvalidClient, InvalidScope, ServiceAccountNotFound
from agentbus_auth.service_accounts import repository as repo
from agentbus_auth.sessions.service import announce_revoked
from agentbus_auth.sessions.tokens import AccessTokens
from agentbus_auth.tenants import repository as tenants_repo
from agentbus_auth.tenants.membership import acting_member
from agentbus_auth.tenants.repository import Member
from agentbus_auth.tenants.roles import SERVICE_ACCOUNT_FORBIDDEN, granted_scopes
from agentbus_shared.contracts.common import Page, PageQuery, Principal, RequestMeta, Scope
from agentbus_shared.contracts.features import Feature
from agentbus_shared.contracts.service_accounts import (
    ClientCredentialsGrant,
    ClientCredentialsToken,
    ServiceAccountCreate,
    ServiceAccountCreated,
    ServiceAccountView,
)
from agentbus_shared.contracts.tenants import RevokedServiceAccount
from agentbus_shared.db import Database
from agentbus_shared.errors import TenantSuspended
from agentbus_shared.features import TenantFeatureReader
from agentbus_shared.ids import new_id
from agentbus_shared.pagination import cut_page, decode_cursor

CreatorLeft = Literal["creator_removed", "creator_demoted", "creator_disabled"]
"""Why a creator's service accounts were revoked (in the audit trail)."""

_DECOY_HASH = token_hash("decoy")
_KNOWN_SCOPES = frozenset(s.value for s in Scope)


def _view(account: repo.ServiceAccount) -> ServiceAccountView:
    return ServiceAccountView(
        id=account.id,
        name=account.name,
        client_id=account.client_id,
        scopes=account.scopes,
        created_at=account.created_at,
        created_by=account.created_by,
        revoked_at=account.revoked_at,
    )


class ServiceAccountService:
    def __init__(self, db: Database, tokens: AccessTokens, features: TenantFeatureReader) -> None:
        self._db = db
        self._tokens = tokens
        self._features = features

    async def create(
        self, principal: Principal, cmd: ServiceAccountCreate, meta: RequestMeta
    ) -> ServiceAccountCreated:
        """A new account with its secret (shown this once); ``FeatureNotInPlan`` unless the
        tenant's features include ``service_accounts``."""
        await self._features.require(principal.tenant_id, Feature.SERVICE_ACCOUNTS)
        requested = sorted(set(cmd.scopes))
        unknown = [s for s in requested if s not in _KNOWN_SCOPES]
        if unknown:
            raise InvalidScope(f"Unknown scopes: {' '.join(unknown)}", details={"unknown": unknown})
        secret = new_token("abs")
        account_id, client_id = new_id("sa"), new_id("cli")
        async with self._db.transaction() as session:
            # Removing or demoting a member locks the tenant row, then revokes what they
            # created: locking it here too means an account never lands after that revocation.
            await tenants_repo.tenant(session, principal.tenant_id, for_update=True)
            creator = await acting_member(
                session,
                principal,
                refusal="Only a member of the tenant can create its service accounts.",
            )
            own = set(granted_scopes(creator.role, platform_operator=creator.platform_operator))
            beyond = [s for s in requested if s not in own or s in SERVICE_ACCOUNT_FORBIDDEN]
            if beyond:
                raise InvalidScope(
                    "A service account can only get scopes its creator holds (never "
                    "platform:operate).",
                    details={"not_allowed": beyond},
                )
            await repo.add(
                session,
                account_id=account_id,
                tenant_id=principal.tenant_id,
                name=cmd.name,
                client_id=client_id,
                secret_hash=token_hash(secret),
                scopes=requested,
                created_by=principal.user_id,
            )
            await record(
                session,
                AuditKind.SERVICE_ACCOUNT_CREATED,
                tenant_id=principal.tenant_id,
                actor_id=principal.user_id,
                meta=meta,
                service_account_id=account_id,
                scopes=requested,
            )
        return ServiceAccountCreated(
            id=account_id,
            name=cmd.name,
            client_id=client_id,
            client_secret=secret,
            scopes=requested,
        )

    async def list(self, principal: Principal, page: PageQuery) -> Page[ServiceAccountView]:
        (after,) = decode_cursor(page.cursor, str) if page.cursor else (None,)
        async with self._db.session() as session:
            rows = await repo.in_tenant(
                session, principal.tenant_id, limit=page.limit + 1, after=after
            )
        accounts, next_cursor = cut_page(rows, page.limit, lambda r: (r.id,))
        return Page[ServiceAccountView](items=[_view(r) for r in accounts], next_cursor=next_cursor)

    async def revoke(self, principal: Principal, account_id: str, meta: RequestMeta) -> None:
        async with self._db.transaction() as session:
            revoked = await repo.revoke(session, principal.tenant_id, account_id)
            if revoked is None:
                if await repo.exists(session, principal.tenant_id, account_id):
                    return  # revoked already
                raise ServiceAccountNotFound()
            await self._announce_revoked(session, revoked, actor_id=principal.subject, meta=meta)

    async def revoke_created_by(
        self,
        session: AsyncSession,
        member: Member,
        *,
        reason: CreatorLeft,
        actor_id: str,
        meta: RequestMeta,
    ) -> builtins.list[RevokedServiceAccount]:
        """Revoke the live service accounts ``member`` created in their tenant, as their creator
        leaves it or loses the admin role: a kept client secret must not outlive those rights."""
        revoked = await repo.revoke_created_by(session, member.tenant_id, member.user_id)
        for account in revoked:
            await self._announce_revoked(
                session,
                account,
                actor_id=actor_id,
                meta=meta,
                name=account.name,
                created_by=member.user_id,
                reason=reason,
            )
        return [RevokedServiceAccount(id=account.id, name=account.name) for account in revoked]

    async def _announce_revoked(
        self,
        session: AsyncSession,
        account: repo.ServiceAccount,
        *,
        actor_id: str,
        meta: RequestMeta,
        **why: str,
    ) -> None:
        """``session.revoked`` for the account's tokens (the gateway refuses them at once), audited."""
        await announce_revoked(
            session,
            session_id=account.id,
            user_id=account.id,
            tenant_id=account.tenant_id,
            reason="service_account_revoked",
            access_token_ttl=self._tokens.ttl,
        )
        await record(
            session,
            AuditKind.SERVICE_ACCOUNT_REVOKED,
            tenant_id=account.tenant_id,
            actor_id=actor_id,
            meta=meta,
            service_account_id=account.id,
            **why,
        )

    async def token(
        self, grant: ClientCredentialsGrant, meta: RequestMeta
    ) -> ClientCredentialsToken:
        """The client-credentials grant: an access token for a live account with a right secret
        (``TenantSuspended`` while its tenant is not active)."""
        async with self._db.session() as session:
            account = await repo.by_client_id(session, grant.client_id)
            tenant = await tenants_repo.tenant(session, account.tenant_id) if account else None
        presented = token_hash(grant.client_secret)
        secret_ok = same(account.secret_hash if account else _DECOY_HASH, presented)
        if account is None or not secret_ok or account.revoked_at is not None:
            async with self._db.transaction() as session:
                await record(
                    session,
                    AuditKind.CLIENT_AUTH_FAILED,
                    tenant_id=account.tenant_id if account else None,
                    meta=meta,
                    client_id=grant.client_id[:128],
                )
            raise InvalidClient()
        if tenant is None or tenant.status != "active":
            raise TenantSuspended()
        scopes = sorted(set(grant.scope.split())) if grant.scope else account.scopes
        beyond = [s for s in scopes if s not in account.scopes]
        if beyond:
            raise InvalidScope(details={"not_allowed": beyond})
        issued = self._tokens.issue(
            subject=account.id,
            tenant_id=account.tenant_id,
            session_id=account.id,
            scopes=scopes,
            roles=[],
            typ="service_account",
        )
        return ClientCredentialsToken(
            access_token=issued.token, expires_in=self._tokens.ttl, scope=issued.scope
        )
