"""Tenant administration: the tenant's name and slug, its pending invites and its settings.

Only the tenant's owners and admins, as stored now, act here; every query is scoped by the
caller's tenant, so another tenant's invite is not found. Each change is audited in the
tenant's trail; a new name or slug and new settings are also announced as events.
"""

from __future__ import annotations

import json

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.errors import FlagsTooLarge, InviteNotFound, SlugTaken
from agentbus_auth.events import emit
from agentbus_auth.tenants import admin_repository as repo
from agentbus_auth.tenants import repository as tenants_repo
from agentbus_auth.tenants.admin_repository import PendingInvite, StoredSettings
from agentbus_auth.tenants.membership import MANAGERS, acting_member
from agentbus_auth.tenants.repository import Tenant
from agentbus_auth.tenants.service import tenant_view
from agentbus_auth.tenants.webhooks import WebhookTargets
from agentbus_shared.contracts.common import Page, PageQuery, Principal, RequestMeta
from agentbus_shared.contracts.tenant_admin import (
    FLAGS_MAX_BYTES,
    Contact,
    InviteView,
    TenantSettings,
    TenantSettingsChanged,
    TenantSettingsView,
    TenantUpdate,
    TenantUpdated,
)
from agentbus_shared.contracts.tenants import TenantView
from agentbus_shared.db import Database


def _invite_view(invite: PendingInvite) -> InviteView:
    return InviteView(
        id=invite.id,
        email=invite.email,
        role=invite.role,
        invited_by=invite.invited_by,
        created_at=invite.created_at,
        expires_at=invite.expires_at,
    )


def _settings_view(stored: StoredSettings | None) -> TenantSettingsView:
    if stored is None:
        return TenantSettingsView()
    return TenantSettingsView(
        billing_email=stored.billing_email,
        contacts=[Contact.model_validate(contact) for contact in stored.contacts],
        webhook_url=stored.webhook_url,
        webhook_events=stored.webhook_events,
        flags=stored.flags,
        updated_at=stored.updated_at,
    )


def flags_size(flags: object) -> int:
    """The bytes ``flags`` take as compact JSON, what the cap counts."""
    return len(json.dumps(flags, separators=(",", ":"), ensure_ascii=False).encode())


async def _manager(session: AsyncSession, principal: Principal) -> None:
    await acting_member(
        session, principal, roles=MANAGERS, refusal="Only owners and admins manage the tenant."
    )


class TenantAdministration:
    def __init__(self, db: Database, webhooks: WebhookTargets) -> None:
        self._db = db
        self._webhooks = webhooks

    # ---------------------------------------------------------------- name and slug
    async def update(
        self, principal: Principal, cmd: TenantUpdate, meta: RequestMeta
    ) -> TenantView:
        changes = cmd.model_dump(exclude_none=True)
        try:
            async with self._db.transaction() as session:
                await _manager(session, principal)
                if "slug" in changes and await repo.slug_taken(
                    session, changes["slug"], by_other_than=principal.tenant_id
                ):
                    raise SlugTaken()
                if not changes:
                    current = await tenants_repo.tenant(session, principal.tenant_id)
                    assert current is not None  # the caller's membership holds it
                    return tenant_view(current)
                tenant = await repo.rename(session, principal.tenant_id, changes)
                await self._announce_update(session, principal, tenant, changes, meta)
        except IntegrityError as exc:
            if repo.is_slug_conflict(exc):
                raise SlugTaken() from None  # taken by a concurrent change since the check
            raise
        return tenant_view(tenant)

    @staticmethod
    async def _announce_update(
        session: AsyncSession,
        principal: Principal,
        tenant: Tenant,
        changes: dict[str, str],
        meta: RequestMeta,
    ) -> None:
        await emit(
            session,
            TenantUpdated(
                tenant_id=tenant.id,
                name=tenant.name,
                slug=tenant.slug,
                changed_by=principal.user_id,
            ),
            tenant_id=tenant.id,
        )
        await record(
            session,
            AuditKind.TENANT_UPDATED,
            tenant_id=tenant.id,
            actor_id=principal.user_id,
            meta=meta,
            **changes,
        )

    # ---------------------------------------------------------------- invites
    async def invites(self, principal: Principal, page: PageQuery) -> Page[InviteView]:
        async with self._db.session() as session:
            await _manager(session, principal)
            pending, next_cursor = await repo.pending_invites(
                session, principal.tenant_id, limit=page.limit, cursor=page.cursor
            )
        return Page[InviteView](items=[_invite_view(i) for i in pending], next_cursor=next_cursor)

    async def revoke_invite(self, principal: Principal, invite_id: str, meta: RequestMeta) -> None:
        """Withdraw a pending invite: its mailed token is refused from now on."""
        async with self._db.transaction() as session:
            await _manager(session, principal)
            if not await repo.revoke_invite(session, principal.tenant_id, invite_id):
                raise InviteNotFound()
            await record(
                session,
                AuditKind.INVITE_REVOKED,
                tenant_id=principal.tenant_id,
                actor_id=principal.user_id,
                meta=meta,
                invite_id=invite_id,
            )

    # ---------------------------------------------------------------- settings
    async def settings(self, principal: Principal) -> TenantSettingsView:
        async with self._db.session() as session:
            await _manager(session, principal)
            return _settings_view(await repo.settings(session, principal.tenant_id))

    async def save_settings(
        self, principal: Principal, cmd: TenantSettings, meta: RequestMeta
    ) -> TenantSettingsView:
        """Replace the settings after checking the caller's role, then the flags' size and the
        webhook's target (so only a manager makes the service resolve a name)."""
        async with self._db.session() as session:
            await _manager(session, principal)  # before the webhook's host is looked up
        if flags_size(cmd.flags) > FLAGS_MAX_BYTES:
            raise FlagsTooLarge(FLAGS_MAX_BYTES)
        webhook_url = await self._webhooks.check(cmd.webhook_url) if cmd.webhook_url else None
        events = sorted(set(cmd.webhook_events))
        async with self._db.transaction() as session:
            await _manager(session, principal)
            await repo.save_settings(
                session,
                principal.tenant_id,
                updated_by=principal.user_id,
                billing_email=str(cmd.billing_email) if cmd.billing_email else None,
                contacts=[contact.model_dump(mode="json") for contact in cmd.contacts],
                webhook_url=webhook_url,
                webhook_events=events,
                flags=cmd.flags,
            )
            await emit(
                session,
                TenantSettingsChanged(
                    tenant_id=principal.tenant_id,
                    webhook_url=webhook_url,
                    webhook_events=events,
                    changed_by=principal.user_id,
                ),
                tenant_id=principal.tenant_id,
            )
            await record(
                session,
                AuditKind.TENANT_SETTINGS_CHANGED,
                tenant_id=principal.tenant_id,
                actor_id=principal.user_id,
                meta=meta,
                webhook_url=webhook_url,
                webhook_events=events,
            )
            return _settings_view(await repo.settings(session, principal.tenant_id))
