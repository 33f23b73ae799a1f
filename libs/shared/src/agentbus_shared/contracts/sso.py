"""Single sign-on with OpenID Connect: ``rpc.auth.v1.sso.*`` operations and their routes
under ``/api/v1/auth/sso``.

Served by the auth service (``SERVICE``); the module keeps ``contracts.auth`` to tokens and membership.
"""

from __future__ import annotations

from agentbus_shared.contracts.auth import SERVICE
from agentbus_shared.contracts.http import Route


class Operation:
    """RPC operation names of SSO under ``rpc.auth.v1.``."""


ROUTES: tuple[Route, ...] = ()

__all__ = ["ROUTES", "SERVICE", "Operation"]
