"""RPC operations of tenant administration: name and slug, pending invites, settings, the
admin's password reset and the tenant's audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta
from agentbus_shared.contracts.common import Page, PageQuery, Scope
from agentbus_shared.contracts.tenant_admin import (
    AdminPasswordReset,
    AuditEntryView,
    AuditQuery,
    InviteRef,
    InviteView,
    Operation,
    TenantSettings,
    TenantSettingsView,
    TenantUpdate,
)
from agentbus_shared.contracts.tenants import TenantView
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts

MANAGE = frozenset({str(Scope.MEMBERS_MANAGE)})


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    admin = parts.tenant_admin

    @ops.operation(
        Operation.TENANT_UPDATE,
        scopes=MANAGE,
        user_only=True,
        description="Rename the tenant or change its slug.",
    )
    async def update(cmd: TenantUpdate, principal: CallerPrincipal, meta: Meta) -> TenantView:
        return await admin.update(principal, cmd, meta)

    @ops.operation(
        Operation.INVITES_LIST, scopes=MANAGE, user_only=True, description="Pending invites."
    )
    async def invites(query: PageQuery, principal: CallerPrincipal) -> Page[InviteView]:
        return await admin.invites(principal, query)

    @ops.operation(
        Operation.INVITES_REVOKE,
        scopes=MANAGE,
        user_only=True,
        description="Revoke a pending invite.",
    )
    async def revoke_invite(ref: InviteRef, principal: CallerPrincipal, meta: Meta) -> None:
        await admin.revoke_invite(principal, ref.invite_id, meta)

    @ops.operation(
        Operation.SETTINGS_GET, scopes=MANAGE, user_only=True, description="The tenant's settings."
    )
    async def settings(principal: CallerPrincipal) -> TenantSettingsView:
        return await admin.settings(principal)

    @ops.operation(
        Operation.SETTINGS_PUT,
        scopes=MANAGE,
        user_only=True,
        description="Replace the tenant's settings.",
    )
    async def save_settings(
        cmd: TenantSettings, principal: CallerPrincipal, meta: Meta
    ) -> TenantSettingsView:
        return await admin.save_settings(principal, cmd, meta)

    @ops.operation(
        Operation.PASSWORD_ADMIN_RESET,
        user_only=True,
        description="Reset a member's password (admins) or anyone's (operators).",
    )
    async def admin_reset(cmd: AdminPasswordReset, principal: CallerPrincipal, meta: Meta) -> None:
        await parts.support.reset_password(principal, cmd.user_id, meta)

    @ops.operation(
        Operation.AUDIT_LIST,
        scopes=MANAGE,
        user_only=True,
        description="The tenant's security events, newest first.",
    )
    async def audit(query: AuditQuery, principal: CallerPrincipal) -> Page[AuditEntryView]:
        return await parts.audit_log.entries(principal, query)
