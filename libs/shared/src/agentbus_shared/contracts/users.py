"""Self-service profile of the signed-in user: ``rpc.auth.v1.users.*`` operations and the
``/api/v1/users`` routes (profile, email change, disabling, consents, notification preferences).

Served by the auth service (``SERVICE``); the module keeps ``contracts.auth`` to tokens and membership.
"""

from __future__ import annotations

from agentbus_shared.contracts.auth import SERVICE
from agentbus_shared.contracts.http import Route


class Operation:
    """RPC operation names of user under ``rpc.auth.v1.``."""


ROUTES: tuple[Route, ...] = ()

__all__ = ["ROUTES", "SERVICE", "Operation"]
