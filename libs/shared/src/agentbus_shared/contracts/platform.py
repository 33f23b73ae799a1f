"""Operators run the platform: the tenant lifecycle (``rpc.auth.v1.platform.*``) under
``/api/v1/platform``, and the events that carry a tenant's state to every service.

Served by the auth service (``SERVICE``), which owns tenants. Suspension and reactivation are
events every service hears (``tenant.suspended``, ``tenant.reactivated``). Deprovisioning is a
saga over the bus: auth announces ``tenant.deprovision_requested``; each service deletes the
tenant's data in its own schema and answers with its ``tenant.data_deleted`` (one event class per
service, on that service's stream); auth marks the tenant deleted once every part has answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import EmailStr, Field, StringConstraints

from agentbus_shared.contracts.auth import SERVICE, TenantStatus
from agentbus_shared.contracts.common import Contract, Page, PageQuery, Scope
from agentbus_shared.contracts.events import EventData
from agentbus_shared.contracts.http import Route, RouteTable

DATA_PARTS: tuple[str, ...] = ("auth", "billing", "chat", "activity")
"""The services holding tenant data: each answers a deprovision request for its part."""

DataPartStatus = Literal["pending", "deleted"]


class Operation:
    """RPC operation names of the tenant lifecycle under ``rpc.auth.v1.``."""

    TENANTS_LIST = "platform.tenants.list"
    TENANTS_GET = "platform.tenants.get"
    TENANTS_CREATE = "platform.tenants.create"
    TENANTS_SUSPEND = "platform.tenants.suspend"
    TENANTS_REACTIVATE = "platform.tenants.reactivate"
    TENANTS_DELETE = "platform.tenants.delete"


# ------------------------------------------------------------------ commands and views
class TenantSearch(PageQuery):
    q: str | None = Field(
        None, max_length=200, description="part of the tenant's name or slug, or its owner's email"
    )
    status: TenantStatus | None = None


class TenantRef(Contract):
    tenant_id: str = Field(min_length=1, max_length=64)


class TenantSummary(Contract):
    """A tenant as the operators' list shows it."""

    id: str
    name: str
    slug: str
    plan: str
    status: TenantStatus
    owner_email: str | None = None
    created_at: datetime


class DataPart(Contract):
    """One service's part of a deprovisioning: pending until it reports its data deleted."""

    service: str
    status: DataPartStatus
    deleted_at: datetime | None = None


class TenantUsage(Contract):
    """Usage of the current billing period, by meter (empty when billing cannot say now)."""

    period_start: datetime | None = None
    period_end: datetime | None = None
    used: dict[str, int] = Field(default_factory=dict)


class TenantDetail(TenantSummary):
    """A tenant's page for operators: lifecycle, members, usage and deprovisioning progress."""

    members_count: int
    usage: TenantUsage
    suspended_at: datetime | None = None
    suspension_reason: str | None = None
    deprovision_requested_at: datetime | None = None
    deleted_at: datetime | None = None
    data_parts: list[DataPart] = Field(
        default_factory=list, description="each service's deletion, once deprovisioning started"
    )


class TenantCreate(Contract):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    owner_email: EmailStr = Field(description="gets an invite to become the tenant's owner")
    plan: str | None = Field(None, min_length=1, max_length=40)


class TenantSuspension(Contract):
    """Body of ``POST /tenants/{tenant_id}/suspend``: why, for the tenant's page and the audit."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class TenantSuspend(TenantSuspension):
    tenant_id: str = Field(min_length=1, max_length=64)


# ------------------------------------------------------------------ events
class TenantSuspended(EventData):
    """Every service stops serving the tenant at once (the gateway refuses its tokens)."""

    service = SERVICE
    event_type = "tenant.suspended"

    tenant_id: str
    reason: str
    suspended_by: str
    suspended_at: datetime


class TenantReactivated(EventData):
    service = SERVICE
    event_type = "tenant.reactivated"

    tenant_id: str
    reactivated_by: str
    reactivated_at: datetime


class TenantDeprovisionRequested(EventData):
    """Each service in ``parts`` deletes the tenant's data and answers ``tenant.data_deleted``."""

    service = SERVICE
    event_type = "tenant.deprovision_requested"

    tenant_id: str
    requested_by: str
    requested_at: datetime
    parts: list[str] = Field(default_factory=lambda: list(DATA_PARTS))
    cancel_subscription: bool = True


class TenantDataDeletedBase(EventData):
    """A service's answer to ``tenant.deprovision_requested``: its part of the data is gone."""

    tenant_id: str
    deleted_at: datetime
    rows_deleted: int = Field(0, ge=0, description="how many rows the service deleted")


class AuthTenantDataDeleted(TenantDataDeletedBase):
    service = "auth"
    event_type = "tenant.data_deleted"


class BillingTenantDataDeleted(TenantDataDeletedBase):
    service = "billing"
    event_type = "tenant.data_deleted"


class ChatTenantDataDeleted(TenantDataDeletedBase):
    service = "chat"
    event_type = "tenant.data_deleted"


class ActivityTenantDataDeleted(TenantDataDeletedBase):
    service = "activity"
    event_type = "tenant.data_deleted"


DATA_DELETED_EVENTS: tuple[type[TenantDataDeletedBase], ...] = (
    AuthTenantDataDeleted,
    BillingTenantDataDeleted,
    ChatTenantDataDeleted,
    ActivityTenantDataDeleted,
)
"""One ``tenant.data_deleted`` per part of ``DATA_PARTS``, in the same order."""


class TenantDeprovisioned(EventData):
    """Every part answered: nothing of the tenant is left in any schema."""

    service = SERVICE
    event_type = "tenant.deprovisioned"

    tenant_id: str
    deleted_at: datetime


# ------------------------------------------------------------------ routes
_routes = RouteTable(SERVICE, prefix="/api/v1/platform", tags=("platform",))
_operate = (str(Scope.PLATFORM_OPERATE),)

ROUTES: tuple[Route, ...] = (
    _routes.get(
        "/tenants",
        Operation.TENANTS_LIST,
        "Search the tenants",
        access="user",
        scopes=_operate,
        rate_group="operator",
        query=TenantSearch,
        response=Page[TenantSummary],
    ),
    _routes.get(
        "/tenants/{tenant_id}",
        Operation.TENANTS_GET,
        "A tenant's lifecycle, members, usage and deprovisioning progress",
        access="user",
        scopes=_operate,
        rate_group="operator",
        response=TenantDetail,
    ),
    _routes.post(
        "/tenants",
        Operation.TENANTS_CREATE,
        "Create a tenant; its owner gets an invite",
        access="user",
        scopes=_operate,
        rate_group="operator",
        body=TenantCreate,
        response=TenantDetail,
        status=201,
    ),
    _routes.post(
        "/tenants/{tenant_id}/suspend",
        Operation.TENANTS_SUSPEND,
        "Suspend a tenant: every token of it is refused at once",
        access="user",
        scopes=_operate,
        rate_group="operator",
        body=TenantSuspension,
        response=TenantDetail,
        changes_tenant_status=True,
    ),
    _routes.post(
        "/tenants/{tenant_id}/reactivate",
        Operation.TENANTS_REACTIVATE,
        "Reactivate a suspended tenant",
        access="user",
        scopes=_operate,
        rate_group="operator",
        response=TenantDetail,
        changes_tenant_status=True,
    ),
    _routes.delete(
        "/tenants/{tenant_id}",
        Operation.TENANTS_DELETE,
        "Deprovision a tenant: every service deletes its data",
        access="user",
        scopes=_operate,
        rate_group="operator",
        response=TenantDetail,
        status=202,
        changes_tenant_status=True,
    ),
)

__all__ = ["ROUTES", "SERVICE", "Operation", "TenantStatus"]
