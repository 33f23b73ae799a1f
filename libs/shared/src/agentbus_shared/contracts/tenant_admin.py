"""Tenant administration beyond membership: ``rpc.auth.v1.*`` operations and their routes
(tenant name and slug, invites, settings), support actions and the tenant's audit log.

Served by the auth service (``SERVICE``); the module keeps ``contracts.auth`` to tokens and membership.
"""

from __future__ import annotations

from agentbus_shared.contracts.auth import SERVICE
from agentbus_shared.contracts.http import Route


class Operation:
    """RPC operation names of tenant administration under ``rpc.auth.v1.``."""


ROUTES: tuple[Route, ...] = ()

__all__ = ["ROUTES", "SERVICE", "Operation"]
