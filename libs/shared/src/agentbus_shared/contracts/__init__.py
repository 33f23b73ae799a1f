"""Every message that crosses a service boundary, as pydantic models (one module per service).

``common``: principal, metadata, pages; ``subjects``: subject names;
``events``: the CloudEvents envelope; ``streams``: stream and bucket specs;
``http``: the public route table type; ``auth``/``chat``/``billing``: each
service's operations, bodies, events and routes.
"""

from agentbus_shared.contracts import auth, billing, chat
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

ROUTES: tuple[Route, ...] = (*auth.ROUTES, *chat.ROUTES, *billing.ROUTES)

__all__ = [
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
    "auth",
    "billing",
    "chat",
]
