"""Every message that crosses a service boundary, as pydantic models (one module per service).

``common``: principal, metadata, pages; ``subjects``: subject names;
``events``: the CloudEvents envelope; ``streams``: stream and bucket specs;
``http``: the public route table type; ``auth``/``chat``/``billing``/``activity``: each
service's operations, bodies, events and routes; ``features`` the feature flags billing
serves. The auth service's contract continues in ``service_accounts``, ``tenants``, ``sso``,
``users``, ``signup``, ``tenant_admin`` and ``platform`` (``AUTH_MODULES``).
"""

from types import ModuleType

from agentbus_shared.contracts import (
    activity,
    auth,
    billing,
    chat,
    features,
    platform,
    service_accounts,
    signup,
    sso,
    tenant_admin,
    tenants,
    users,
)
from agentbus_shared.contracts.common import (
    Contract,
    Empty,
    Page,
    PageQuery,
    Principal,
    RequestMeta,
    Role,
    Scope,
)
from agentbus_shared.contracts.http import Route

AUTH_MODULES: tuple[ModuleType, ...] = (
    auth,
    service_accounts,
    tenants,
    sso,
    users,
    signup,
    tenant_admin,
    platform,
)
"""Every contract module the auth service serves: each has ``Operation`` and ``ROUTES``."""

AUTH_ROUTES: tuple[Route, ...] = tuple(route for module in AUTH_MODULES for route in module.ROUTES)

ROUTES: tuple[Route, ...] = (
    *AUTH_ROUTES,
    *chat.ROUTES,
    *billing.ROUTES,
    *features.ROUTES,
    *activity.ROUTES,
)

__all__ = [
    "AUTH_MODULES",
    "AUTH_ROUTES",
    "ROUTES",
    "Contract",
    "Empty",
    "Page",
    "PageQuery",
    "Principal",
    "RequestMeta",
    "Role",
    "Route",
    "Scope",
    "activity",
    "auth",
    "billing",
    "chat",
    "features",
    "platform",
    "service_accounts",
    "signup",
    "sso",
    "tenant_admin",
    "tenants",
    "users",
]
