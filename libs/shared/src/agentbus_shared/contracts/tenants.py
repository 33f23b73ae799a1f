"""Tenants and their members: ``rpc.auth.v1.tenants.*`` operations for the caller's tenant, its
members and invites, their events (``tenant.created``, ``member.changed``) and routes under
``/api/v1/tenants``.

Served by the auth service (``SERVICE``); tenant administration beyond membership (name, slug,
settings, the audit log) is ``contracts.tenant_admin``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field

from agentbus_shared.contracts.auth import (
    ACCEPTED_PRIVACY,
    ACCEPTED_TERMS,
    SERVICE,
    RegisterResult,
    TenantStatus,
)
from agentbus_shared.contracts.common import (
    Contract,
    OptionalPassword,
    Page,
    PageQuery,
    Role,
    Scope,
)
from agentbus_shared.contracts.events import EventData
from agentbus_shared.contracts.http import Route, RouteTable


# ------------------------------------------------------------------ tenants and members
class TenantView(Contract):
    id: str
    name: str
    slug: str = Field(description="unique short name: lowercase letters, digits and hyphens")
    plan: str
    status: TenantStatus = "active"
    created_at: datetime


class MemberView(Contract):
    user_id: str
    email: str
    display_name: str | None = None
    role: Role
    joined_at: datetime


class RevokedServiceAccount(Contract):
    """A service account revoked because its creator left the tenant or lost the admin role."""

    id: str
    name: str


_REVOKED_WITH_MEMBER = (
    "the member's service accounts revoked with this change (a client secret must not outlive "
    "its creator's rights): create replacements for those still needed"
)


class MemberUpdated(MemberView):
    """A member after a role change."""

    revoked_service_accounts: list[RevokedServiceAccount] = Field(
        default_factory=list, description=_REVOKED_WITH_MEMBER
    )


class MemberRemoved(Contract):
    """A member removed from the tenant."""

    user_id: str
    revoked_service_accounts: list[RevokedServiceAccount] = Field(
        default_factory=list, description=_REVOKED_WITH_MEMBER
    )


class InviteCreate(Contract):
    email: EmailStr
    role: Role = Role.MEMBER


class InviteCreated(Contract):
    """The invite as its sender sees it: the token goes only to the invited mailbox."""

    id: str
    email: str
    role: Role
    expires_at: datetime


class InviteAccept(Contract):
    token: str = Field(min_length=1, max_length=512, repr=False)
    password: OptionalPassword = None
    display_name: str | None = Field(None, max_length=100)
    terms_version: str | None = Field(None, min_length=1, max_length=32, description=ACCEPTED_TERMS)
    privacy_version: str | None = Field(
        None, min_length=1, max_length=32, description=ACCEPTED_PRIVACY
    )


class RoleChange(Contract):
    """Body of ``PATCH /tenants/members/{user_id}``."""

    role: Role


class MemberUpdate(RoleChange):
    user_id: str = Field(min_length=1, max_length=64)


class MemberRef(Contract):
    user_id: str = Field(min_length=1, max_length=64)


class Operation:
    """RPC operation names of tenants and members under ``rpc.auth.v1.``."""

    TENANT_CURRENT = "tenants.current"
    MEMBERS_LIST = "tenants.members.list"
    MEMBERS_UPDATE = "tenants.members.update"
    MEMBERS_REMOVE = "tenants.members.remove"
    INVITES_CREATE = "tenants.invites.create"
    INVITES_ACCEPT = "tenants.invites.accept"


# ------------------------------------------------------------------ events
class TenantCreated(EventData):
    service = SERVICE
    event_type = "tenant.created"

    tenant_id: str
    name: str
    owner_user_id: str
    created_at: datetime


class MemberChanged(EventData):
    service = SERVICE
    event_type = "member.changed"

    tenant_id: str
    user_id: str
    # Envelopes leave out None fields (``CloudEvent.to_bytes``): a removal arrives without
    # ``role``, so the field needs its default for consumers to read the event at all.
    role: Role | None = Field(None, description="the new role; None when the member was removed")
    changed_by: str


# ------------------------------------------------------------------ routes
_tenant_routes = RouteTable(SERVICE, prefix="/api/v1/tenants", tags=("tenants",))

ROUTES: tuple[Route, ...] = (
    _tenant_routes.get(
        "/current",
        Operation.TENANT_CURRENT,
        "The caller's tenant",
        scopes=(Scope.TENANT_READ,),
        response=TenantView,
    ),
    _tenant_routes.get(
        "/members",
        Operation.MEMBERS_LIST,
        "Members with their roles",
        scopes=(Scope.MEMBERS_READ,),
        query=PageQuery,
        response=Page[MemberView],
    ),
    _tenant_routes.post(
        "/invites",
        Operation.INVITES_CREATE,
        "Invite someone to the tenant",
        access="user",
        scopes=(Scope.MEMBERS_MANAGE,),
        body=InviteCreate,
        response=InviteCreated,
        status=201,
    ),
    _tenant_routes.post(
        "/invites/accept",
        Operation.INVITES_ACCEPT,
        "Accept an invite",
        access="public",
        body=InviteAccept,
        response=RegisterResult,
        rate_group="strict",
    ),
    _tenant_routes.patch(
        "/members/{user_id}",
        Operation.MEMBERS_UPDATE,
        "Change a member's role",
        access="user",
        scopes=(Scope.MEMBERS_MANAGE,),
        body=RoleChange,
        response=MemberUpdated,
    ),
    _tenant_routes.delete(
        "/members/{user_id}",
        Operation.MEMBERS_REMOVE,
        "Remove a member",
        access="user",
        scopes=(Scope.MEMBERS_MANAGE,),
        response=MemberRemoved,
    ),
)

__all__ = ["ROUTES", "SERVICE", "Operation"]
