"""Who may sign up: ``rpc.auth.v1.signup.*`` operations and their routes
(signup policy, access requests, platform signup invites).

Served by the auth service (``SERVICE``); the module keeps ``contracts.auth`` to tokens and membership.
"""

from __future__ import annotations

from agentbus_shared.contracts.auth import SERVICE
from agentbus_shared.contracts.http import Route


class Operation:
    """RPC operation names of signup under ``rpc.auth.v1.``."""


ROUTES: tuple[Route, ...] = ()

__all__ = ["ROUTES", "SERVICE", "Operation"]
