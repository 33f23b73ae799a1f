"""Tenant administration beyond membership: ``rpc.auth.v1.*`` operations and their routes
(tenant name and slug, invites, settings), support actions and the tenant's audit log.

Served by the auth service (``SERVICE``); the module keeps ``contracts.auth`` to tokens and membership.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import EmailStr, Field, StringConstraints, field_validator

from agentbus_shared.contracts.auth import SERVICE
from agentbus_shared.contracts.common import Contract, Page, PageQuery, Role, Scope
from agentbus_shared.contracts.events import EventData
from agentbus_shared.contracts.http import Route, RouteTable
from agentbus_shared.contracts.tenants import TenantView

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$"
"""A tenant's slug: 3 to 40 lowercase letters, digits and hyphens, a letter or digit at each end."""

FLAGS_MAX_BYTES = 8 * 1024
"""The largest a tenant's flags may be, serialised as compact JSON."""

WebhookEventKind = Literal[
    "conversation.deleted",
    "member.changed",
    "subscription.changed",
    "invoice.changed",
    "usage.threshold",
    "tenant.updated",
    "tenant.settings_changed",
]
"""The events a tenant's webhook may ask for."""


class Operation:
    """RPC operation names of tenant administration under ``rpc.auth.v1.``."""

    TENANT_UPDATE = "tenants.update"
    INVITES_LIST = "tenants.invites.list"
    INVITES_REVOKE = "tenants.invites.revoke"
    SETTINGS_GET = "tenants.settings.get"
    SETTINGS_PUT = "tenants.settings.put"
    PASSWORD_ADMIN_RESET = "password.admin_reset"
    AUDIT_LIST = "audit.list"


# ------------------------------------------------------------------ tenant
class TenantUpdate(Contract):
    """Body of ``PATCH /tenants/current``: the fields to change."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = Field(
        None, max_length=100
    )
    slug: str | None = Field(None, pattern=SLUG_PATTERN)


class InviteView(Contract):
    """A pending invite as an admin sees it (never its token)."""

    id: str
    email: str
    role: Role
    invited_by: str | None = None
    created_at: datetime
    expires_at: datetime


class InviteRef(Contract):
    invite_id: str = Field(min_length=1, max_length=64)


class Contact(Contract):
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    role: str = Field("", max_length=60, description="what to contact them about, e.g. billing")


def _finite(value: object) -> bool:
    """Whether every number in ``value`` (a decoded JSON value) is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    return True


class TenantSettings(Contract):
    """What a tenant's admins set: billing mail, contacts, a webhook and free-form flags."""

    billing_email: EmailStr | None = None
    contacts: list[Contact] = Field(default_factory=list, max_length=10)
    webhook_url: str | None = Field(
        None,
        max_length=2048,
        description="https URL whose host resolves only to public addresses",
    )
    webhook_events: list[WebhookEventKind] = Field(default_factory=list, max_length=20)
    flags: dict[str, Any] = Field(
        default_factory=dict, description=f"any JSON object up to {FLAGS_MAX_BYTES} bytes"
    )

    @field_validator("flags")
    @classmethod
    def _finite_numbers_only(cls, flags: dict[str, Any]) -> dict[str, Any]:
        """JSON has no NaN or Infinity (nor does the database's jsonb): refuse them."""
        if not _finite(flags):
            raise ValueError("numbers must be finite (no NaN or Infinity)")
        return flags


class TenantSettingsView(TenantSettings):
    updated_at: datetime | None = None


# ------------------------------------------------------------------ support actions
class AdminPasswordReset(Contract):
    user_id: str = Field(min_length=1, max_length=64)


# ------------------------------------------------------------------ audit
class AuditQuery(PageQuery):
    kind: str | None = Field(None, max_length=64, description="only entries of this kind")
    user_id: str | None = Field(None, max_length=64, description="only entries about this user")


class AuditEntryView(Contract):
    """One security event of the tenant: who did what to whom, from where."""

    id: str
    kind: str
    occurred_at: datetime
    actor_id: str | None = None
    actor_email: str | None = None
    user_id: str | None = Field(None, description="the user the event is about")
    user_email: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    country: str | None = None
    city: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


# ------------------------------------------------------------------ events
class TenantUpdated(EventData):
    service = SERVICE
    event_type = "tenant.updated"

    tenant_id: str
    name: str
    slug: str
    changed_by: str


class TenantSettingsChanged(EventData):
    """Settings changed; the webhook's target and kinds travel, the flags and contacts do not."""

    service = SERVICE
    event_type = "tenant.settings_changed"

    tenant_id: str
    webhook_url: str | None = None
    webhook_events: list[str] = Field(default_factory=list)
    changed_by: str


# ------------------------------------------------------------------ routes
_tenant_routes = RouteTable(SERVICE, prefix="/api/v1/tenants", tags=("tenants",))
_auth_routes = RouteTable(SERVICE, prefix="/api/v1/auth", tags=("auth",))
_manage = (str(Scope.MEMBERS_MANAGE),)

ROUTES: tuple[Route, ...] = (
    _tenant_routes.patch(
        "/current",
        Operation.TENANT_UPDATE,
        "Rename the tenant or change its slug",
        access="user",
        scopes=_manage,
        body=TenantUpdate,
        response=TenantView,
    ),
    _tenant_routes.get(
        "/invites",
        Operation.INVITES_LIST,
        "Pending invites",
        access="user",
        scopes=_manage,
        query=PageQuery,
        response=Page[InviteView],
    ),
    _tenant_routes.delete(
        "/invites/{invite_id}",
        Operation.INVITES_REVOKE,
        "Revoke a pending invite",
        access="user",
        scopes=_manage,
        status=204,
    ),
    _tenant_routes.get(
        "/settings",
        Operation.SETTINGS_GET,
        "The tenant's settings",
        access="user",
        scopes=_manage,
        response=TenantSettingsView,
    ),
    _tenant_routes.route(
        "PUT",
        "/settings",
        Operation.SETTINGS_PUT,
        "Replace the tenant's settings",
        access="user",
        scopes=_manage,
        body=TenantSettings,
        response=TenantSettingsView,
    ),
    _auth_routes.post(
        "/password/admin-reset",
        Operation.PASSWORD_ADMIN_RESET,
        "Reset a member's password (admins) or anyone's (operators)",
        access="user",
        status=204,
        rate_group="strict",
        body=AdminPasswordReset,
    ),
    _auth_routes.get(
        "/audit",
        Operation.AUDIT_LIST,
        "The tenant's security events, newest first",
        access="user",
        scopes=_manage,
        query=AuditQuery,
        response=Page[AuditEntryView],
    ),
)

__all__ = ["ROUTES", "SERVICE", "Operation"]
